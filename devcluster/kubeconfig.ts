/**
 * A kubeconfig for one user of the embedded cluster, authenticated by a bearer token: the admin
 * and the control-plane components (devcluster/cluster.ts), and istiod's ServiceAccount
 * (devcluster/localIstiod.ts).
 *
 * May import: nothing (plain text out).
 */
export function kubeconfigText(server: string, caPem: string, user: string, token: string): string {
    const name = "pluggable-mesh-local";
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: ${name}`,
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority-data: ${Buffer.from(caPem).toString("base64")}`,
        "users:",
        `- name: ${user}`,
        "  user:",
        `    token: ${token}`,
        "contexts:",
        `- name: ${name}`,
        "  context:",
        `    cluster: ${name}`,
        `    user: ${user}`,
        `current-context: ${name}`,
        "",
    ].join("\n");
}
