/**
 * kube-scheduler: places pods on the fake Nodes. Ready when its /healthz answers ok (its serving
 * certificate is self-signed, so the probe does not verify it).
 *
 * May import: node built-ins, devcluster's component.ts and http.ts, and its sibling controlPlaneClient.ts.
 */
import { LOOPBACK, renderFlags, runsBinary, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, type ClusterContext, type Component, type Flags } from "../component";
import { request } from "../http";
import { controlPlaneClientFlags } from "./controlPlaneClient";

export function kubeSchedulerFlags(context: ClusterContext): Flags {
    return controlPlaneClientFlags(context, "kube-scheduler");
}

export const kubeScheduler: Component = {
    name: "kube-scheduler",
    ports: ["secure"],
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
    runs: runsBinary("kube-scheduler"),
    command: (context, overrides) => ({ binary: context.tools.kubeScheduler, args: renderFlags(kubeSchedulerFlags(context), overrides) }),
    ready: {
        description: "/healthz answered ok",
        check: async (context) => (await request(`https://${LOOPBACK}:${context.port("kube-scheduler.secure")}/healthz`, { insecure: true })).status === 200,
    },
};
