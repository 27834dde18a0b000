/**
 * etcd, the cluster's store: one member on loopback, plain HTTP (only the API server talks to it,
 * on 127.0.0.1), ready when its /health answers true.
 *
 * May import: node built-ins and devcluster's component.ts and http.ts.
 */
import { LOOPBACK, renderFlags, runsBinary, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, type ClusterContext, type Component, type Flags } from "../component";
import { request } from "../http";

export function etcdFlags(context: ClusterContext): Flags {
    const client = `http://${LOOPBACK}:${context.port("etcd.client")}`;
    const peer = `http://${LOOPBACK}:${context.port("etcd.peer")}`;
    return {
        name: "local",
        "data-dir": context.layout.etcdData,
        "listen-client-urls": client,
        "advertise-client-urls": client,
        "listen-peer-urls": peer,
        "initial-advertise-peer-urls": peer,
        "initial-cluster": `local=${peer}`,
        "initial-cluster-state": "new",
        logger: "zap",
        "log-outputs": "stderr",
    };
}

export const etcd: Component = {
    name: "etcd",
    ports: ["client", "peer"],
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
    runs: runsBinary("etcd"),
    command: (context, overrides) => ({ binary: context.tools.etcd, args: renderFlags(etcdFlags(context), overrides) }),
    ready: {
        description: "its /health answered true",
        async check(context) {
            const response = await request(`http://${LOOPBACK}:${context.port("etcd.client")}/health`);
            return response.status === 200 && /"health":\s*"true"/.test(response.body);
        },
    },
};
