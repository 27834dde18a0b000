import * as path from "node:path";
import { pluggableMesh } from "./program";

// `pulumi up -s <stack>` runs this file; every export is a stack output.
const outputs = pluggableMesh(path.resolve(__dirname, ".."));

export const apps = outputs.apps;
export const istio = outputs.istio;
export const kialiUrl = outputs.kialiUrl;
export const prometheusUrl = outputs.prometheusUrl;
export const kialiToken = outputs.kialiToken;
