/**
 * What a component of the embedded cluster is, the way controller-runtime's envtest models its
 * control plane: a name, a binary with arguments built from defaults that the caller may override
 * flag by flag, the ports it binds (held by devcluster/ports.ts until it starts), a readiness
 * probe, and start and stop timeouts. One file per component under devcluster/components/
 * defines it; devcluster/supervisor.ts runs it; devcluster/cluster.ts puts them together.
 *
 * May import: node built-ins, and devcluster's own layout, pki, http and tools types (what a
 * component needs to know about the cluster it joins); never supervisor.ts or cluster.ts.
 */
import * as path from "node:path";
import type { Response } from "./http";
import type { Layout } from "./layout";
import type { PKI_FILES } from "./pki";

/** The components in start order; they stop in reverse. */
export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "istiod"] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** The pinned binaries tools/tools.sh builds for the cluster. */
export interface ClusterTools {
    etcd: string;
    kubeApiserver: string;
    kubeControllerManager: string;
    kubeScheduler: string;
    kwok: string;
    /** kwok's upstream node and pod stages of the same release. */
    kwokStages: string;
    pilotDiscovery: string;
}

/**
 * A component's flags as `--name=value` pairs, in order; a list repeats the flag. Names are
 * written without the leading dashes.
 */
export type Flags = Readonly<Record<string, string | readonly string[]>>;

/**
 * Changes to a component's default flags: a value replaces the flag where it stands (or is
 * appended when the component has no such flag), a list repeats it, `null` removes it.
 * E.g. `{ "v": "4", "profiling": null }` for the API server.
 */
export type FlagOverrides = Readonly<Record<string, string | readonly string[] | null>>;

/** The command line of `flags` after `overrides`. */
export function renderFlags(flags: Flags, overrides: FlagOverrides = {}): string[] {
    const merged = new Map<string, string | readonly string[]>(Object.entries(flags));
    for (const [name, value] of Object.entries(overrides)) {
        if (name.startsWith("-")) throw new Error(`flag override ${JSON.stringify(name)}: give the flag's name without leading dashes`);
        if (value === null) merged.delete(name);
        else merged.set(name, value);
    }
    return [...merged].flatMap(([name, value]) => (typeof value === "string" ? [value] : value).map((v) => `--${name}=${v}`));
}

/** What the supervisor runs. */
export interface Command {
    binary: string;
    args: string[];
    /** Added to the cluster's base environment (the user's, minus ETCD*, KWOK* and KUBECONFIG). @default nothing added */
    env?: NodeJS.ProcessEnv;
}

/** Everything a component may need from the cluster it joins; built once per start by cluster.ts. */
export interface ClusterContext {
    layout: Layout;
    tools: ClusterTools;
    /** The port reserved for `component.role` (e.g. "etcd.client"). */
    port(owner: string): number;
    /** https://127.0.0.1:<kube-apiserver port> */
    server: string;
    caPem: string;
    /** Absolute paths of the PKI files. */
    pki: Record<keyof typeof PKI_FILES, string>;
    /** kubeconfig files of the control-plane clients. */
    kubeconfigs: Record<"kube-controller-manager" | "kube-scheduler" | "kwok", string>;
    /** The admin's bearer token. */
    adminToken: string;
    /** A request to the API server as the admin. */
    api(method: string, apiPath: string, body?: unknown): Promise<Response>;
    /** The fake Nodes the cluster creates, which kwok must report Ready. */
    nodeNames: readonly string[];
}

/** How to tell that a started component is ready. */
export interface Probe {
    /** What it waits for, for messages: "/readyz answered ok". */
    description: string;
    check(context: ClusterContext): Promise<boolean>;
}

export interface Component {
    name: ComponentName;
    /** The roles of the ports it binds ("client", "peer"): reserved as `<name>.<role>` and released right before it starts. */
    ports: readonly string[];
    /**
     * Takes its held ports' sockets over an IPC channel at start (see ports.ts's handOverPorts)
     * and holds them until its own server binds them, instead of having them closed right before
     * it starts. @default false
     */
    takesHeldPorts?: boolean;
    /** How long it may take to become ready. @default {@link DEFAULT_START_TIMEOUT_MS} (ClusterOptions.timeoutMs overrides it) */
    startTimeoutMs: number;
    /** How long it may take to exit after SIGTERM before it gets SIGKILL. */
    stopTimeoutMs: number;
    /** Recognizes its command line, so that a recycled PID is never taken for it. */
    runs(argv: readonly string[]): boolean;
    /** Writes the files it reads (a config, a stages file) before it starts. @default nothing */
    prepare?(context: ClusterContext): void;
    /** Its command, with the caller's flag overrides applied (components without flags ignore them). */
    command(context: ClusterContext, overrides?: FlagOverrides): Command;
    ready: Probe;
}

export const DEFAULT_START_TIMEOUT_MS = 90_000;
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** Matches a command line whose program is `binary` (any directory). */
export const runsBinary =
    (binary: string) =>
    (argv: readonly string[]): boolean =>
        path.basename(argv[0] ?? "") === binary;

/** The loopback address every component binds. */
export const LOOPBACK = "127.0.0.1";
