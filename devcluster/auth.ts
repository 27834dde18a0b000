/**
 * Who may talk to the embedded cluster's API server: a static bearer token for the admin and for
 * each control-plane client (the users the bootstrap RBAC policy grants; kwok updates node and pod
 * status like a kubelet, so it is an admin here), the token file kube-apiserver reads, and a
 * kubeconfig per client.
 *
 * May import: node built-ins and devcluster's kubeconfig.ts and layout.ts.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { kubeconfigText } from "./kubeconfig";
import type { Layout } from "./layout";

export type Client = "admin" | "kube-controller-manager" | "kube-scheduler" | "kwok";

/** Each client's user name and groups in the token file. */
const USERS: Record<Client, { user: string; groups?: string }> = {
    admin: { user: "admin", groups: "system:masters" },
    "kube-controller-manager": { user: "system:kube-controller-manager" },
    "kube-scheduler": { user: "system:kube-scheduler" },
    kwok: { user: "kwok", groups: "system:masters" },
};

export type Tokens = Record<Client, string>;

export function newTokens(): Tokens {
    const token = (): string => crypto.randomBytes(24).toString("hex");
    return { admin: token(), "kube-controller-manager": token(), "kube-scheduler": token(), kwok: token() };
}

/** kube-apiserver's static token file: token,user,uid,"group1,group2". */
export function tokenFileText(tokens: Tokens): string {
    return (Object.keys(USERS) as Client[])
        .map((client) => {
            const { user, groups } = USERS[client];
            return `${tokens[client]},${user},${user}${groups ? `,"${groups}"` : ""}`;
        })
        .concat("")
        .join("\n");
}

/** Writes the token file, the admin token, the admin kubeconfig and one kubeconfig per control-plane client; returns the latter's paths. */
export function writeCredentials(l: Layout, server: string, caPem: string, tokens: Tokens): Record<Exclude<Client, "admin">, string> {
    fs.mkdirSync(l.componentKubeconfigs, { recursive: true, mode: 0o700 });
    fs.writeFileSync(l.tokens, tokenFileText(tokens), { mode: 0o600 });
    fs.writeFileSync(l.adminToken, `${tokens.admin}\n`, { mode: 0o600 });
    fs.writeFileSync(l.kubeconfig, kubeconfigText(server, caPem, USERS.admin.user, tokens.admin), { mode: 0o600 });
    const write = (client: Exclude<Client, "admin">): string => {
        const file = path.join(l.componentKubeconfigs, `${client}.kubeconfig`);
        fs.writeFileSync(file, kubeconfigText(server, caPem, USERS[client].user, tokens[client]), { mode: 0o600 });
        return file;
    };
    return { "kube-controller-manager": write("kube-controller-manager"), "kube-scheduler": write("kube-scheduler"), kwok: write("kwok") };
}
