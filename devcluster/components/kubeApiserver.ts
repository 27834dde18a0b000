/**
 * kube-apiserver on https://127.0.0.1:<port>: serving certificate and client CA from
 * devcluster/pki.ts, static bearer tokens for the admin and the control-plane clients, RBAC, the
 * front-proxy (requestheader) settings that the controller manager and scheduler look up, and
 * service-account tokens signed with the cluster's key. Ready when /readyz answers ok.
 *
 * May import: node built-ins and devcluster's component.ts.
 */
import { LOOPBACK, renderFlags, runsBinary, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, type ClusterContext, type Component, type Flags } from "../component";

/** The Service network; its first address (10.96.0.1) is the `kubernetes` Service, which the serving certificate names. */
export const SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16";

export function kubeApiserverFlags(context: ClusterContext): Flags {
    const { pki } = context;
    return {
        "etcd-servers": `http://${LOOPBACK}:${context.port("etcd.client")}`,
        "bind-address": LOOPBACK,
        "advertise-address": LOOPBACK,
        "secure-port": String(context.port("kube-apiserver.secure")),
        "cert-dir": context.layout.pki,
        "tls-cert-file": pki.apiserverCert,
        "tls-private-key-file": pki.apiserverKey,
        "client-ca-file": pki.caCert,
        "token-auth-file": context.layout.tokens,
        "requestheader-client-ca-file": pki.caCert,
        "requestheader-allowed-names": "front-proxy-client",
        "requestheader-username-headers": "X-Remote-User",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        "proxy-client-cert-file": pki.frontProxyClientCert,
        "proxy-client-key-file": pki.frontProxyClientKey,
        "authorization-mode": "RBAC",
        "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
        "service-account-key-file": pki.serviceAccountPublicKey,
        "service-account-signing-key-file": pki.serviceAccountKey,
        "service-cluster-ip-range": SERVICE_CLUSTER_IP_RANGE,
        // The `kubernetes` Endpoints would otherwise be reconciled to the advertise address.
        "endpoint-reconciler-type": "none",
        "allow-privileged": "true",
        profiling: "false",
    };
}

export const kubeApiserver: Component = {
    name: "kube-apiserver",
    ports: ["secure"],
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
    runs: runsBinary("kube-apiserver"),
    command: (context, overrides) => ({ binary: context.tools.kubeApiserver, args: renderFlags(kubeApiserverFlags(context), overrides) }),
    ready: {
        description: "/readyz answered ok",
        check: async (context) => (await context.api("GET", "/readyz")).status === 200,
    },
};
