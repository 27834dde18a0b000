/**
 * A platform team's stack in a fleet (docs/fleet.md): the Istio control plane with its ingress
 * gateway, and the `platform` output the app teams' stacks read through a StackReference. No apps.
 *
 *   import { IstioControlPlane, platformData } from "pluggable-mesh";
 *
 * Where Istio's chart repository cannot be reached, `pulumi config set istioChartsDir <folder>`
 * points the control plane at unpacked charts instead.
 */
import * as pulumi from "@pulumi/pulumi";
import { IstioControlPlane, platformData } from "pluggable-mesh";

const config = new pulumi.Config();
const istio = new IstioControlPlane("istio", { gateway: { enabled: true }, localChartsDir: config.get("istioChartsDir") });

// Plain, versioned data: every default applied, no resource or Output in it.
export const platform = platformData({ istio, networkPolicies: "ingress+egress" });
