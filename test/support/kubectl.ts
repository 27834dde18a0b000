import { execFileSync } from "node:child_process";

/** kubectl against one cluster: returns stdout, throws (with stderr on the error) on failure. */
export type Kubectl = (...args: string[]) => string;

export function kubectlFor(kubeconfig: string): Kubectl {
    return (...args) => execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Kinds whose identity must survive a mode switch: replacing one loses data or cuts traffic. */
export const PROTECTED_KINDS = "deployments,statefulsets,services,persistentvolumeclaims";

/**
 * `Kind/name` → UID of every Deployment, StatefulSet, Service and claim in a namespace; a claim
 * also names the volume it is bound to, so a rebind shows too.
 */
export function identities(kubectl: Kubectl, namespace: string): Record<string, string> {
    const list = JSON.parse(kubectl("get", PROTECTED_KINDS, "-n", namespace, "-o", "json")) as {
        items: { kind: string; metadata: { name: string; uid: string }; spec?: { volumeName?: string } }[];
    };
    return Object.fromEntries(
        list.items.map((item) => [`${item.kind}/${item.metadata.name}`, item.kind === "PersistentVolumeClaim" ? `${item.metadata.uid} on ${item.spec?.volumeName}` : item.metadata.uid]),
    );
}
