/**
 * Where the embedded cluster keeps its files: one directory ($PLUGGABLE_MESH_CLUSTER_DIR, or
 * `.cluster` in the project) with the PKI, the components' logs, PID files, etcd's data, the
 * kubeconfigs, kwok's home, the volume pool's folders and istiod's working directory. Logs stay
 * after a stop for a post-mortem; {@link RUN_STATE} lists what a stop removes.
 *
 * May import: node built-ins only.
 */
import * as path from "node:path";

export interface Layout {
    dir: string;
    pki: string;
    logs: string;
    pids: string;
    etcdData: string;
    /** The admin kubeconfig. */
    kubeconfig: string;
    /** One kubeconfig per control-plane client (controller manager, scheduler, kwok). */
    componentKubeconfigs: string;
    /** kube-apiserver's static token file. */
    tokens: string;
    adminToken: string;
    /** What `runningCluster` reads: the server, the ports, istiod's webhook endpoint. */
    state: string;
    kwokHome: string;
    volumes: string;
    istiod: string;
}

export function layout(dir: string): Layout {
    return {
        dir,
        pki: path.join(dir, "pki"),
        logs: path.join(dir, "logs"),
        pids: path.join(dir, "pids"),
        etcdData: path.join(dir, "etcd"),
        kubeconfig: path.join(dir, "kubeconfig"),
        componentKubeconfigs: path.join(dir, "kubeconfigs"),
        tokens: path.join(dir, "pki", "tokens.csv"),
        adminToken: path.join(dir, "pki", "admin.token"),
        state: path.join(dir, "state.json"),
        kwokHome: path.join(dir, "kwok"),
        volumes: path.join(dir, "volumes"),
        istiod: path.join(dir, "istiod"),
    };
}

/** This run's state: removed by a stop (the logs are not). */
export const RUN_STATE = (l: Layout): string[] => [l.pids, l.etcdData, l.pki, l.componentKubeconfigs, l.kubeconfig, l.state, l.kwokHome, l.volumes, l.istiod];

export const logFile = (l: Layout, component: string): string => path.join(l.logs, `${component}.log`);
export const pidFile = (l: Layout, component: string): string => path.join(l.pids, `${component}.pid`);
