/**
 * The flags the controller manager and the scheduler share as clients of the API server: their
 * kubeconfig for everything (the API, and delegated authentication and authorization of their own
 * /healthz and /metrics), their secure port on loopback, no leader election (one replica).
 *
 * May import: devcluster's component.ts.
 */
import { LOOPBACK, type ClusterContext, type Flags } from "../component";

export function controlPlaneClientFlags(context: ClusterContext, name: "kube-controller-manager" | "kube-scheduler"): Flags {
    const kubeconfig = context.kubeconfigs[name];
    return {
        kubeconfig,
        "authentication-kubeconfig": kubeconfig,
        "authorization-kubeconfig": kubeconfig,
        "bind-address": LOOPBACK,
        "secure-port": String(context.port(`${name}.secure`)),
        "leader-elect": "false",
    };
}
