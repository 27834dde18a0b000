import * as path from "node:path";
import { pluggableMesh } from "./program";

// `pulumi up -s <stack>` runs this file. The program is async (an app stack reads its platform and
// peer stacks first), so the module exports a function: Pulumi awaits it and every property of
// the object it returns is a stack output.
export = async () => {
    const outputs = await pluggableMesh(path.resolve(__dirname, ".."));
    return {
        apps: outputs.apps,
        istio: outputs.istio,
        kialiUrl: outputs.kialiUrl,
        prometheusUrl: outputs.prometheusUrl,
        kialiToken: outputs.kialiToken,
        platform: outputs.platform,
        peers: outputs.peers,
    };
};
