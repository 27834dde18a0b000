/**
 * The embedded local Kubernetes cluster: start, stop, status. Real upstream components, all on
 * 127.0.0.1: etcd, kube-apiserver, kube-controller-manager, kube-scheduler (built by
 * tools/tools.sh from the pinned k8s.io/kubernetes) and kwok, which plays the kubelet of a few fake
 * Nodes so that pods get scheduled and become Running/Ready. No containers run; no image is pulled.
 *
 * Two pieces of a real cluster that no kubelet provides here are played by the cluster itself:
 * - istiod: devcluster/localIstiod.ts runs the pod of Istio's `istiod` chart as a local
 *   `pilot-discovery` whose webhook server listens on 127.0.0.1 with a certificate of the cluster
 *   CA; stacks point the webhooks there (`istio.webhookEndpoint`, set by engine/engine.ts).
 * - a cloud load balancer: a kwok stage gives every LoadBalancer Service the address 127.0.0.1.
 *
 * Built the way controller-runtime's envtest builds its control plane: one file per component
 * under components/ (its flags, overridable through {@link ClusterOptions.args}, its ports and its
 * readiness probe), a process supervisor (supervisor.ts), certificates made in-process (pki.ts),
 * ports held until handoff (ports.ts), tokens and kubeconfigs (auth.ts), the objects it starts with
 * (bootstrap.ts: the default StorageClass, a static volume pool, the fake Nodes).
 * `npm run cluster:start|stop|status` (cli/cluster.ts) drives it from the command line.
 *
 * Everything lives under one directory (layout.ts): $PLUGGABLE_MESH_CLUSTER_DIR, or `.cluster` in
 * the project (git-ignored). Logs stay in `<dir>/logs` after a stop; the rest is removed.
 *
 * May import: devcluster's own files and tools/ (to build or find the binaries); nothing above.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { newTokens, writeCredentials } from "./auth";
import { bootstrapObjects, DEFAULT_VOLUMES, nodeNames, STORAGE_CLASS } from "./bootstrap";
import { COMPONENTS, type ClusterContext, type ClusterTools, type Component, type ComponentName, type FlagOverrides } from "./component";
import { CLUSTER_COMPONENTS, etcd, kubeApiserver, KWOK_NODE_ANNOTATION } from "./components";
import { request } from "./http";
import { layout, logFile, RUN_STATE, type Layout } from "./layout";
import { createClusterPki, writeClusterPki } from "./pki";
import { handOverPorts, PortAllocator } from "./ports";
import { installExitHooks, livePids, stopComponents, Supervisor } from "./supervisor";
import { PROJECT_ROOT, runToolsScript } from "../tools/tools";

export { COMPONENTS, KWOK_NODE_ANNOTATION, PROJECT_ROOT, STORAGE_CLASS, type ComponentName, type FlagOverrides };
export const DEFAULT_CLUSTER_DIR = process.env.PLUGGABLE_MESH_CLUSTER_DIR || path.join(PROJECT_ROOT, ".cluster");

export interface ClusterOptions {
    /** Data directory. @default $PLUGGABLE_MESH_CLUSTER_DIR or <project>/.cluster */
    dir?: string;
    /** How many fake Nodes. @default 2 */
    nodes?: number;
    /** Sizes of the static PersistentVolume pool. @default 8 × 10Gi and 4 × 100Gi */
    volumes?: string[];
    /** Per-component readiness timeout (the whole start takes longer). @default each component's own, 90 s */
    timeoutMs?: number;
    /**
     * Changes to a component's default flags, e.g. `{ "kube-apiserver": { v: "4" } }`: a value
     * replaces the flag (or adds it), a list repeats it, `null` removes it. The istiod launcher
     * takes none. @default none
     */
    args?: Partial<Record<Exclude<ComponentName, "istiod">, FlagOverrides>>;
    /** Progress messages. @default stderr */
    log?: (message: string) => void;
    /**
     * Leave the processes running after this process exits (the CLI's `start`); `stop` ends them.
     * Otherwise (the default, for tests) they are stopped when this process exits or is
     * interrupted, even if `stop()` is never called. @default false
     */
    detach?: boolean;
}

export interface Cluster {
    dir: string;
    /** Path of an admin kubeconfig for the cluster. */
    kubeconfig: string;
    /** https://127.0.0.1:<port> */
    server: string;
    /** The components' PIDs, as recorded in `<dir>/pids` (`istiod`: the launcher of the local istiod). */
    pids: Record<ComponentName, number>;
    /** Where the local istiod serves its webhooks: the value of a stack's `istio.webhookEndpoint`. */
    istiodWebhook: IstiodWebhook;
    /** `127.0.0.1:<port>`: the local istiod's plaintext XDS server, which a sidecar's agent dials (istiod's 15010). */
    istiodXds: string;
    stop(): Promise<void>;
}

/** Base URL of the local istiod's webhook server and base64 of the CA that signed its certificate. */
export interface IstiodWebhook {
    url: string;
    caBundle: string;
}

/** What `runningCluster` reads back. */
interface State {
    server: string;
    ports: Record<string, number>;
    istiodWebhook: IstiodWebhook;
    startedAt: string;
}

export function defaultLog(message: string): void {
    process.stderr.write(`cluster: ${message}\n`);
}

/** Builds or finds the pinned control plane, etcd, kwok and pilot-discovery (tools/tools.sh). */
export function ensureClusterTools(): ClusterTools {
    const values = runToolsScript(["kubernetes", "etcd", "kwok", "pilot-discovery"]);
    const tools: ClusterTools = {
        etcd: values.ETCD!,
        kubeApiserver: values.KUBE_APISERVER!,
        kubeControllerManager: values.KUBE_CONTROLLER_MANAGER!,
        kubeScheduler: values.KUBE_SCHEDULER!,
        kwok: values.KWOK!,
        kwokStages: values.KWOK_STAGES!,
        pilotDiscovery: values.PILOT_DISCOVERY!,
    };
    for (const [name, file] of Object.entries(tools)) {
        if (!file || !fs.existsSync(file)) throw new Error(`tools/tools.sh did not provide ${name} (expected at ${file ?? "?"})`);
    }
    return tools;
}

/** Stops the processes recorded in `dir` (reverse start order, SIGTERM then SIGKILL) and removes this run's state; logs stay. Idempotent. */
export async function stopCluster(dir: string = DEFAULT_CLUSTER_DIR, log: (message: string) => void = defaultLog): Promise<void> {
    const l = layout(dir);
    await stopComponents(l, CLUSTER_COMPONENTS, log);
    for (const doomed of RUN_STATE(l)) fs.rmSync(doomed, { recursive: true, force: true });
}

function istiodXdsAddress(ports: Record<string, number>): string {
    return `127.0.0.1:${ports["istiod.grpc"]}`;
}

/** Reads a running cluster's state from `dir`, if all of its components still run. */
export function runningCluster(dir: string = DEFAULT_CLUSTER_DIR): Omit<Cluster, "dir" | "stop"> | undefined {
    const l = layout(dir);
    const pids = livePids(l, CLUSTER_COMPONENTS);
    if (COMPONENTS.some((name) => pids[name] === undefined) || !fs.existsSync(l.state) || !fs.existsSync(l.kubeconfig)) return undefined;
    const state = JSON.parse(fs.readFileSync(l.state, "utf8")) as State;
    return { server: state.server, kubeconfig: l.kubeconfig, pids: pids as Record<ComponentName, number>, istiodWebhook: state.istiodWebhook, istiodXds: istiodXdsAddress(state.ports) };
}

/** Each component's PID (when it runs) and log file, and the logs folder, for `cluster:status`. */
export function componentStatus(dir: string = DEFAULT_CLUSTER_DIR): { logs: string; components: { name: ComponentName; pid?: number; log: string }[] } {
    const l = layout(dir);
    const pids = livePids(l, CLUSTER_COMPONENTS);
    return { logs: l.logs, components: COMPONENTS.map((name) => ({ name, pid: pids[name], log: logFile(l, name) })) };
}

/** The components must not pick up the user's own settings. */
function baseEnvironment(): NodeJS.ProcessEnv {
    return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("ETCD") && key !== "KUBECONFIG" && !key.startsWith("KWOK")));
}

function prepareDirectory(l: Layout): void {
    fs.mkdirSync(l.dir, { recursive: true });
    fs.rmSync(l.logs, { recursive: true, force: true });
    for (const sub of [l.logs, l.pids, l.etcdData, l.componentKubeconfigs, l.kwokHome, l.volumes, l.istiod]) fs.mkdirSync(sub, { recursive: true, mode: 0o700 });
}

/**
 * Starts a fresh cluster in `options.dir` (stopping whatever an earlier run left there) and waits
 * until etcd is healthy, the API server is ready, the controller manager has created the `default`
 * ServiceAccount, the scheduler is healthy, kwok reports every fake Node Ready and the local
 * istiod launcher watches for istiod pods. On any failure everything started so far is stopped.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
    const dir = path.resolve(options.dir ?? DEFAULT_CLUSTER_DIR);
    const log = options.log ?? defaultLog;
    const l = layout(dir);

    const tools = ensureClusterTools();
    await stopCluster(dir, log);
    prepareDirectory(l);

    const supervisor = new Supervisor(l, { cwd: dir, baseEnv: baseEnvironment(), detach: options.detach });
    const ports = new PortAllocator();
    // Until the cluster is up, an interrupted start stops what it started; a detached cluster
    // outlives this process once it is ready.
    let removeExitHooks: (() => void) | undefined = installExitHooks(l, CLUSTER_COMPONENTS);
    const stop = async (): Promise<void> => {
        await ports.releaseAll();
        removeExitHooks?.();
        removeExitHooks = undefined;
        await stopCluster(dir, log);
    };

    try {
        const started = Date.now();
        const [pki] = await Promise.all([createClusterPki(), ports.reserveAll(CLUSTER_COMPONENTS.flatMap((c) => c.ports.map((role) => `${c.name}.${role}`)))]);
        const server = `https://127.0.0.1:${ports.port("kube-apiserver.secure")}`;
        const tokens = newTokens();
        const caPem = pki.ca.certPem;
        const pkiFiles = writeClusterPki(l.pki, pki);
        const kubeconfigs = writeCredentials(l, server, caPem, tokens);
        const context: ClusterContext = {
            layout: l,
            tools,
            port: (owner) => ports.port(owner),
            server,
            caPem,
            pki: pkiFiles,
            kubeconfigs,
            adminToken: tokens.admin,
            api: (method, apiPath, body) => request(`${server}${apiPath}`, { method, body, token: tokens.admin, ca: caPem }),
            nodeNames: nodeNames(options.nodes ?? 2),
        };
        const launch = async (component: Component): Promise<void> => {
            component.prepare?.(context);
            const overrides = component.name === "istiod" ? undefined : options.args?.[component.name];
            const command = component.command(context, overrides);
            if (component.takesHeldPorts) {
                // It holds the sockets itself until its server binds them.
                const sockets = Object.fromEntries(component.ports.map((role) => [role, ports.transfer(`${component.name}.${role}`)!]));
                await handOverPorts(supervisor.start(component, command, { ipc: true }), sockets);
            } else {
                // Handoff: the component binds its ports right after this.
                await ports.releaseOwnedBy(`${component.name}.`);
                supervisor.start(component, command);
            }
        };
        const ready = (component: Component): Promise<void> => supervisor.waitReady(component, context, options.timeoutMs ?? component.startTimeoutMs);

        log(`starting etcd on 127.0.0.1:${ports.port("etcd.client")}`);
        await launch(etcd);
        await ready(etcd);
        log(`starting kube-apiserver on ${server}`);
        await launch(kubeApiserver);
        await ready(kubeApiserver);
        log(`kube-apiserver ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

        const rest = CLUSTER_COMPONENTS.filter((c) => c !== etcd && c !== kubeApiserver);
        log(`starting ${rest.map((c) => c.name).join(", ")}`);
        await Promise.all([...rest.map(launch), bootstrapObjects(context.api, { volumes: options.volumes ?? DEFAULT_VOLUMES, volumesDir: l.volumes, nodes: context.nodeNames })]);
        await Promise.all(rest.map(ready));

        const istiodWebhook: IstiodWebhook = { url: `https://127.0.0.1:${ports.port("istiod.webhooks")}`, caBundle: Buffer.from(caPem).toString("base64") };
        const state: State = {
            server,
            ports: Object.fromEntries(CLUSTER_COMPONENTS.flatMap((c) => c.ports.map((role) => [`${c.name}.${role}`, ports.port(`${c.name}.${role}`)]))),
            istiodWebhook,
            startedAt: new Date().toISOString(),
        };
        fs.writeFileSync(l.state, JSON.stringify(state, null, 2));
        log(`ready after ${((Date.now() - started) / 1000).toFixed(1)} s: kubectl --kubeconfig ${l.kubeconfig} get nodes`);
        if (options.detach) {
            removeExitHooks?.();
            removeExitHooks = undefined;
        }
        return { dir, kubeconfig: l.kubeconfig, server, pids: supervisor.pids() as Record<ComponentName, number>, istiodWebhook, istiodXds: istiodXdsAddress(state.ports), stop };
    } catch (error) {
        await stop();
        throw error;
    }
}
