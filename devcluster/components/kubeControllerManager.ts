/**
 * kube-controller-manager: every controller that makes sense without a cloud or a pod network
 * (Deployments, StatefulSets, the volume binder that binds claims to the static pool, service
 * accounts and their tokens, CSR signing with the cluster CA). Ready when it has created the
 * `default` ServiceAccount: proof that its controllers run, not only that it serves /healthz.
 *
 * May import: node built-ins, devcluster's component.ts, and its siblings controlPlaneClient.ts and kubeApiserver.ts.
 */
import * as path from "node:path";
import { renderFlags, runsBinary, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, type ClusterContext, type Component, type Flags } from "../component";
import { controlPlaneClientFlags } from "./controlPlaneClient";
import { SERVICE_CLUSTER_IP_RANGE } from "./kubeApiserver";

export function kubeControllerManagerFlags(context: ClusterContext): Flags {
    return {
        ...controlPlaneClientFlags(context, "kube-controller-manager"),
        "cert-dir": path.join(context.layout.pki, "kube-controller-manager"),
        "use-service-account-credentials": "true",
        "service-account-private-key-file": context.pki.serviceAccountKey,
        "root-ca-file": context.pki.caCert,
        "cluster-signing-cert-file": context.pki.caCert,
        "cluster-signing-key-file": context.pki.caKey,
        "service-cluster-ip-range": SERVICE_CLUSTER_IP_RANGE,
        // No cloud, no pod network: nothing allocates node CIDRs or routes.
        controllers: "*,-node-ipam-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller",
    };
}

export const kubeControllerManager: Component = {
    name: "kube-controller-manager",
    ports: ["secure"],
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
    runs: runsBinary("kube-controller-manager"),
    command: (context, overrides) => ({ binary: context.tools.kubeControllerManager, args: renderFlags(kubeControllerManagerFlags(context), overrides) }),
    ready: {
        description: "the `default` ServiceAccount appeared",
        check: async (context) => (await context.api("GET", "/api/v1/namespaces/default/serviceaccounts/default")).status === 200,
    },
};
