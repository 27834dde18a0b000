/**
 * The istiod of the embedded cluster: not istiod itself but the local launcher
 * (devcluster/localIstiod.ts) that runs the istiod chart's pod as a local pilot-discovery once the
 * chart creates it. This file writes the launcher's configuration: the ports it hands to
 * pilot-discovery, the webhook serving certificate, and the cluster CA as istiod's plugged-in mesh
 * CA (files under ./etc/cacerts, so no istio-ca-secret is needed before its namespace exists).
 * Ready when the launcher watches for istiod pods.
 *
 * May import: node built-ins, devcluster's component.ts, layout.ts and localIstiod.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_START_TIMEOUT_MS, type ClusterContext, type Component } from "../component";
import { logFile } from "../layout";
import type { LocalIstiodConfig } from "../localIstiod";

const LOCAL_ISTIOD_SCRIPT = path.join(__dirname, "..", "localIstiod.ts");
/** The port roles of pilot-discovery's servers, as LocalIstiodConfig names them. */
const ISTIOD_PORTS = ["http", "webhooks", "grpc", "secureGrpc", "monitoring"] as const;

const configFile = (context: ClusterContext): string => path.join(context.layout.istiod, "launcher.json");

/** The launcher's configuration (see localIstiod.ts). */
export function localIstiodConfig(context: ClusterContext): LocalIstiodConfig {
    const l = context.layout;
    return {
        server: context.server,
        caCertFile: context.pki.caCert,
        adminTokenFile: l.adminToken,
        pilotDiscovery: context.tools.pilotDiscovery,
        servingCertFile: context.pki.istiodCert,
        servingKeyFile: context.pki.istiodKey,
        workDir: l.istiod,
        logFile: path.join(l.logs, "pilot-discovery.log"),
        ports: Object.fromEntries(ISTIOD_PORTS.map((role) => [role, context.port(`istiod.${role}`)])) as LocalIstiodConfig["ports"],
    };
}

export const istiod: Component = {
    name: "istiod",
    ports: ISTIOD_PORTS,
    // pilot-discovery starts only when an istiod pod appears, maybe minutes later: the launcher holds its ports until then.
    takesHeldPorts: true,
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    // istiod drains for 10 s (--shutdownDuration) before it exits.
    stopTimeoutMs: 20_000,
    runs: (argv) => argv.includes(LOCAL_ISTIOD_SCRIPT),
    prepare(context) {
        const cacerts = path.join(context.layout.istiod, "etc", "cacerts");
        fs.mkdirSync(cacerts, { recursive: true, mode: 0o700 });
        for (const file of ["ca-cert.pem", "root-cert.pem", "cert-chain.pem"]) fs.copyFileSync(context.pki.caCert, path.join(cacerts, file));
        fs.copyFileSync(context.pki.caKey, path.join(cacerts, "ca-key.pem"));
        fs.writeFileSync(configFile(context), JSON.stringify(localIstiodConfig(context), null, 2), { mode: 0o600 });
    },
    command: (context) => ({ binary: process.execPath, args: ["--require", require.resolve("tsx/cjs"), LOCAL_ISTIOD_SCRIPT, configFile(context)] }),
    ready: {
        description: "the local istiod launcher watched for pods",
        check: async (context) => fs.readFileSync(logFile(context.layout, "istiod"), "utf8").includes("watching for istiod pods"),
    },
};
