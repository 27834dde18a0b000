import { spawn, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { request, type Response } from "./http";
import { kubeconfigText } from "./kubeconfig";
import { createClusterPki, writeClusterPki } from "./pki";
import { PortAllocator } from "./ports";
import { ISTIOD_POD_SELECTOR, LOCAL_PROCESS_ANNOTATION, type LocalIstiodConfig } from "./localIstiod";
import { PROJECT_ROOT, runToolsScript } from "../tools/tools";

/**
 * An embedded local Kubernetes cluster made of real upstream components, all on 127.0.0.1:
 * etcd, kube-apiserver, kube-controller-manager, kube-scheduler (built by tools/tools.sh from
 * the pinned k8s.io/kubernetes) and kwok, which plays the kubelet for a few fake Nodes so that
 * pods get scheduled and become Running/Ready. No containers run; no image is pulled.
 *
 * Two pieces of a real cluster that no kubelet provides here are played by the cluster itself:
 * - istiod: devcluster/localIstiod.ts runs the pod of Istio's `istiod` chart as a local
 *   `pilot-discovery` (built from the pinned istio.io/istio) whose webhook server listens on
 *   127.0.0.1 with a certificate of the cluster CA; stacks point the webhooks there
 *   (`istio.webhookEndpoint`, set by engine/engine.ts). Its pod turns Ready only when that
 *   process answers /ready.
 * - a cloud load balancer: a kwok stage gives every LoadBalancer Service the address 127.0.0.1
 *   (nothing listens there), so Pulumi's wait for an address ends as on a cloud.
 *
 * `npm run cluster:start|stop|status` (cli/cluster.ts) drives it from the command line.
 *
 * Everything lives under one directory: $PLUGGABLE_MESH_CLUSTER_DIR, or `.cluster` in the
 * project (git-ignored). Logs stay in `<dir>/logs` after a stop; the rest is removed.
 *
 * Volume claims bind against a static pool of hostPath PersistentVolumes of the default
 * StorageClass `standard` (`volumeBindingMode: Immediate`, no provisioner): the controller
 * manager's PV binder binds them, nothing is mounted. Released volumes are not reused.
 */

export { PROJECT_ROOT };
export const DEFAULT_CLUSTER_DIR = process.env.PLUGGABLE_MESH_CLUSTER_DIR || path.join(PROJECT_ROOT, ".cluster");

/** The components in start order; they stop in reverse. */
export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "istiod"] as const;
export type Component = (typeof COMPONENTS)[number];

/** Fake nodes are those kwok manages: it selects them by this annotation. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
export const STORAGE_CLASS = "standard";

export interface ClusterOptions {
    /** Data directory (default: $PLUGGABLE_MESH_CLUSTER_DIR or <project>/.cluster). */
    dir?: string;
    /** How many fake Nodes (default 2). */
    nodes?: number;
    /** Sizes of the static PersistentVolume pool (default: 8 × 10Gi and 4 × 100Gi). */
    volumes?: string[];
    /** Per-component readiness timeout (default 90 s; the whole start takes longer). */
    timeoutMs?: number;
    /** Progress messages (default: stderr). */
    log?: (message: string) => void;
    /**
     * Leave the processes running after this process exits (the CLI's `start`); `stop` ends them.
     * Otherwise (the default, for tests) they are stopped when this process exits or is
     * interrupted, even if `stop()` is never called.
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
    pids: Record<Component, number>;
    /** Where the local istiod serves its webhooks: the value of a stack's `istio.webhookEndpoint`. */
    istiodWebhook: IstiodWebhook;
    stop(): Promise<void>;
}

/** Base URL of the local istiod's webhook server and base64 of the CA that signed its certificate. */
export interface IstiodWebhook {
    url: string;
    caBundle: string;
}

interface Tools {
    etcd: string;
    kubeApiserver: string;
    kubeControllerManager: string;
    kubeScheduler: string;
    kwok: string;
    kwokStages: string;
    pilotDiscovery: string;
}

interface State {
    server: string;
    ports: Record<string, number>;
    istiodWebhook: IstiodWebhook;
    startedAt: string;
}

interface Layout {
    dir: string;
    pki: string;
    logs: string;
    pids: string;
    etcdData: string;
    kubeconfig: string;
    componentKubeconfigs: string;
    tokens: string;
    state: string;
    kwokHome: string;
    volumes: string;
    istiod: string;
}

function layout(dir: string): Layout {
    return {
        dir,
        pki: path.join(dir, "pki"),
        logs: path.join(dir, "logs"),
        pids: path.join(dir, "pids"),
        etcdData: path.join(dir, "etcd"),
        kubeconfig: path.join(dir, "kubeconfig"),
        componentKubeconfigs: path.join(dir, "kubeconfigs"),
        tokens: path.join(dir, "pki", "tokens.csv"),
        state: path.join(dir, "state.json"),
        kwokHome: path.join(dir, "kwok"),
        volumes: path.join(dir, "volumes"),
        istiod: path.join(dir, "istiod"),
    };
}

const logFile = (l: Layout, component: Component): string => path.join(l.logs, `${component}.log`);
const pidFile = (l: Layout, component: Component): string => path.join(l.pids, `${component}.pid`);

/** Builds or finds the pinned control plane, etcd, kwok and pilot-discovery (tools/tools.sh). */
export function ensureClusterTools(): Tools {
    const values = runToolsScript(["kubernetes", "etcd", "kwok", "pilot-discovery"]);
    const tools: Tools = {
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

// ---------------------------------------------------------------------------------------------
// Processes

/** Whether a PID is a live (not zombie) process; on Linux also that its command line is the component's. */
function alive(pid: number, component?: Component): boolean {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        if (state === "Z" || state === "X") return false;
        if (component && !RUNS_COMPONENT[component](fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"))) return false;
        return true;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
        // No /proc (not Linux): ask the kernel.
        try {
            process.kill(pid, 0);
            return true;
        } catch {
            return false;
        }
    }
}

const runsBinary =
    (binary: string) =>
    (argv: string[]): boolean =>
        path.basename(argv[0] ?? "") === binary;
const LOCAL_ISTIOD_SCRIPT = path.join(__dirname, "localIstiod.ts");

/** Recognizes each component's command line, so that a reused PID is never taken for ours. */
const RUNS_COMPONENT: Record<Component, (argv: string[]) => boolean> = {
    etcd: runsBinary("etcd"),
    "kube-apiserver": runsBinary("kube-apiserver"),
    "kube-controller-manager": runsBinary("kube-controller-manager"),
    "kube-scheduler": runsBinary("kube-scheduler"),
    kwok: runsBinary("kwok"),
    istiod: (argv) => argv.includes(LOCAL_ISTIOD_SCRIPT),
};

function readPid(l: Layout, component: Component): number | undefined {
    try {
        const pid = Number.parseInt(fs.readFileSync(pidFile(l, component), "utf8").trim(), 10);
        return Number.isInteger(pid) ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** The recorded PIDs that still run their component (a reused PID running something else is not ours). */
function livePids(l: Layout): Partial<Record<Component, number>> {
    const result: Partial<Record<Component, number>> = {};
    for (const component of COMPONENTS) {
        const pid = readPid(l, component);
        if (pid !== undefined && alive(pid, component)) result[component] = pid;
    }
    return result;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file: string, lines = 15): string {
    try {
        const text = fs.readFileSync(file, "utf8").trimEnd().split("\n");
        return text.slice(-lines).map((line) => `    ${line}`).join("\n");
    } catch {
        return "    (no log)";
    }
}

/**
 * Sends a signal to a component's process group (each is started as a group leader, so children
 * such as the local istiod's pilot-discovery go with it); the group may already be gone.
 */
function signal(pid: number, name: NodeJS.Signals): void {
    try {
        process.kill(-pid, name);
    } catch {
        // Already gone: nothing to stop.
    }
}

/** Stops the processes recorded in `dir` (SIGTERM, then SIGKILL after a grace period) and cleans up. Idempotent. */
export async function stopCluster(dir: string = DEFAULT_CLUSTER_DIR, log: (message: string) => void = defaultLog): Promise<void> {
    const l = layout(dir);
    for (const component of [...COMPONENTS].reverse()) {
        const pid = readPid(l, component);
        if (pid !== undefined && alive(pid, component)) {
            signal(pid, "SIGTERM");
            // istiod drains for 10 s before it exits.
            const deadline = Date.now() + (component === "istiod" ? 20_000 : 10_000);
            while (alive(pid) && Date.now() < deadline) await sleep(50);
            if (alive(pid)) {
                log(`${component} (pid ${pid}) did not stop after SIGTERM; sending SIGKILL`);
                signal(pid, "SIGKILL");
                while (alive(pid)) await sleep(50);
            }
            // Whatever the leader left behind in its group.
            signal(pid, "SIGKILL");
        }
        fs.rmSync(pidFile(l, component), { force: true });
    }
    // Logs stay for a post-mortem; everything else is this run's state.
    for (const doomed of [l.pids, l.etcdData, l.pki, l.componentKubeconfigs, l.kubeconfig, l.state, l.kwokHome, l.volumes, l.istiod]) {
        fs.rmSync(doomed, { recursive: true, force: true });
    }
}

/** Synchronous last resort (process exit, signals): SIGTERM to every recorded live component. */
function killSync(l: Layout): void {
    for (const component of [...COMPONENTS].reverse()) {
        const pid = readPid(l, component);
        if (pid !== undefined && alive(pid, component)) signal(pid, "SIGTERM");
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates, tokens, kubeconfigs

interface Credentials {
    tokens: Record<"admin" | "controllerManager" | "scheduler" | "kwok", string>;
    caPem: string;
}

async function writePki(l: Layout): Promise<Credentials> {
    const pki = await createClusterPki();
    writeClusterPki(l.pki, pki);
    const token = (): string => crypto.randomBytes(24).toString("hex");
    const tokens = { admin: token(), controllerManager: token(), scheduler: token(), kwok: token() };
    // Static token file: token,user,uid,"group1,group2". The control-plane users are the ones the
    // bootstrap RBAC policy grants; kwok updates node and pod status like a kubelet, so it is an admin here.
    fs.writeFileSync(
        l.tokens,
        [
            `${tokens.admin},admin,admin,"system:masters"`,
            `${tokens.controllerManager},system:kube-controller-manager,system:kube-controller-manager`,
            `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
            `${tokens.kwok},kwok,kwok,"system:masters"`,
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    fs.writeFileSync(path.join(l.pki, "admin.token"), `${tokens.admin}\n`, { mode: 0o600 });
    return { tokens, caPem: pki.ca.certPem };
}

// ---------------------------------------------------------------------------------------------
// Start

export function defaultLog(message: string): void {
    process.stderr.write(`cluster: ${message}\n`);
}

/** Reads a running cluster's state from `dir`, if all of its components still run. */
export function runningCluster(dir: string = DEFAULT_CLUSTER_DIR): Omit<Cluster, "dir" | "stop"> | undefined {
    const l = layout(dir);
    const pids = livePids(l);
    if (COMPONENTS.some((component) => pids[component] === undefined) || !fs.existsSync(l.state) || !fs.existsSync(l.kubeconfig)) return undefined;
    const state = JSON.parse(fs.readFileSync(l.state, "utf8")) as State;
    return { server: state.server, kubeconfig: l.kubeconfig, pids: pids as Record<Component, number>, istiodWebhook: state.istiodWebhook };
}

/**
 * Starts a fresh cluster in `options.dir` (stopping whatever an earlier run left there) and waits
 * until the API server is ready, the controller manager has created the `default`
 * ServiceAccount, the scheduler is healthy, kwok reports every fake Node Ready and the local
 * istiod launcher watches for istiod pods.
 * On any failure everything started so far is stopped again.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
    const dir = path.resolve(options.dir ?? DEFAULT_CLUSTER_DIR);
    const log = options.log ?? defaultLog;
    const timeoutMs = options.timeoutMs ?? 90_000;
    const nodeCount = options.nodes ?? 2;
    const volumeSizes = options.volumes ?? [...Array<string>(8).fill("10Gi"), ...Array<string>(4).fill("100Gi")];
    const l = layout(dir);

    const tools = ensureClusterTools();
    await stopCluster(dir, log);
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(l.logs, { recursive: true, force: true });
    for (const sub of [l.logs, l.pids, l.etcdData, l.componentKubeconfigs, l.kwokHome, l.volumes]) fs.mkdirSync(sub, { recursive: true, mode: 0o700 });

    const children = new Map<Component, ChildProcess>();
    const exited = new Map<Component, string>();
    // Until the cluster is up, an interrupted start stops what it started; a detached cluster
    // outlives this process once it is ready.
    let cleanupHooks: (() => void) | undefined = installExitHooks(l);

    const portAllocator = new PortAllocator();
    const stop = async (): Promise<void> => {
        await portAllocator.releaseAll();
        cleanupHooks?.();
        cleanupHooks = undefined;
        await stopCluster(dir, log);
    };

    try {
        const credentials = await writePki(l);
        // Held open until the owning component is about to start (see launch).
        const reserved = await portAllocator.reserveAll([
            "etcd.client",
            "etcd.peer",
            "kube-apiserver.secure",
            "kube-controller-manager.secure",
            "kube-scheduler.secure",
            "kwok.server",
            "istiod.http",
            "istiod.webhooks",
            "istiod.grpc",
            "istiod.secureGrpc",
            "istiod.monitoring",
        ]);
        const ports = {
            etcdClient: reserved["etcd.client"],
            etcdPeer: reserved["etcd.peer"],
            apiserver: reserved["kube-apiserver.secure"],
            controllerManager: reserved["kube-controller-manager.secure"],
            scheduler: reserved["kube-scheduler.secure"],
            kwok: reserved["kwok.server"],
            istiodHttp: reserved["istiod.http"],
            istiodWebhooks: reserved["istiod.webhooks"],
            istiodGrpc: reserved["istiod.grpc"],
            istiodSecureGrpc: reserved["istiod.secureGrpc"],
            istiodMonitoring: reserved["istiod.monitoring"],
        };
        const server = `https://127.0.0.1:${ports.apiserver}`;
        const istiodWebhook: IstiodWebhook = { url: `https://127.0.0.1:${ports.istiodWebhooks}`, caBundle: Buffer.from(credentials.caPem).toString("base64") };
        fs.writeFileSync(l.kubeconfig, kubeconfigText(server, credentials.caPem, "admin", credentials.tokens.admin), { mode: 0o600 });
        const componentKubeconfig = (name: string, user: string, token: string): string => {
            const file = path.join(l.componentKubeconfigs, `${name}.kubeconfig`);
            fs.writeFileSync(file, kubeconfigText(server, credentials.caPem, user, token), { mode: 0o600 });
            return file;
        };
        const kcmKubeconfig = componentKubeconfig("kube-controller-manager", "system:kube-controller-manager", credentials.tokens.controllerManager);
        const schedulerKubeconfig = componentKubeconfig("kube-scheduler", "system:kube-scheduler", credentials.tokens.scheduler);
        const kwokKubeconfig = componentKubeconfig("kwok", "kwok", credentials.tokens.kwok);

        // The components must not pick up the user's own settings.
        const baseEnv: NodeJS.ProcessEnv = Object.fromEntries(
            Object.entries(process.env).filter(([key]) => !key.startsWith("ETCD") && key !== "KUBECONFIG" && !key.startsWith("KWOK")),
        );

        const launch = async (component: Component, binary: string, args: string[], env: NodeJS.ProcessEnv = baseEnv): Promise<void> => {
            await portAllocator.releaseOwnedBy(`${component}.`);
            const out = fs.openSync(logFile(l, component), "a");
            const child = spawn(binary, args, { cwd: dir, env, stdio: ["ignore", out, out], detached: true });
            fs.closeSync(out);
            if (child.pid === undefined) throw new Error(`could not start ${component} (${binary})`);
            fs.writeFileSync(pidFile(l, component), `${child.pid}\n`);
            child.on("exit", (code, signal) => exited.set(component, signal ? `signal ${signal}` : `exit code ${code}`));
            child.on("error", (error) => exited.set(component, error.message));
            if (options.detach) child.unref();
            children.set(component, child);
        };

        const waitFor = async (component: Component, what: string, check: () => Promise<boolean>): Promise<void> => {
            const deadline = Date.now() + timeoutMs;
            let lastError = "";
            for (;;) {
                const gone = exited.get(component);
                if (gone) throw new Error(`${component} exited (${gone}) before ${what}; its log, ${logFile(l, component)}, ends with:\n${tail(logFile(l, component))}`);
                try {
                    if (await check()) return;
                    lastError = "";
                } catch (error) {
                    lastError = (error as Error).message;
                }
                if (Date.now() > deadline) {
                    throw new Error(
                        `${component}: ${what} did not happen within ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ""}; see ${logFile(l, component)}, which ends with:\n${tail(logFile(l, component))}`,
                    );
                }
                await sleep(250);
            }
        };

        const started = Date.now();
        const api = (method: string, apiPath: string, body?: unknown): Promise<Response> =>
            request(`${server}${apiPath}`, { method, body, token: credentials.tokens.admin, ca: credentials.caPem });
        const create = async (apiPath: string, body: unknown): Promise<void> => {
            const response = await api("POST", apiPath, body);
            if (response.status !== 201 && response.status !== 409) throw new Error(`POST ${apiPath}: HTTP ${response.status}: ${response.body}`);
        };

        log(`starting etcd on 127.0.0.1:${ports.etcdClient}`);
        await launch("etcd", tools.etcd, [
            "--name=local",
            `--data-dir=${l.etcdData}`,
            `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
            `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
            `--initial-cluster=local=http://127.0.0.1:${ports.etcdPeer}`,
            "--initial-cluster-state=new",
            "--logger=zap",
            "--log-outputs=stderr",
        ]);
        await waitFor("etcd", "its /health answered true", async () => {
            const response = await request(`http://127.0.0.1:${ports.etcdClient}/health`);
            return response.status === 200 && /"health":\s*"true"/.test(response.body);
        });

        log(`starting kube-apiserver on ${server}`);
        await launch("kube-apiserver", tools.kubeApiserver, [
            `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            `--secure-port=${ports.apiserver}`,
            `--cert-dir=${l.pki}`,
            `--tls-cert-file=${path.join(l.pki, "apiserver.crt")}`,
            `--tls-private-key-file=${path.join(l.pki, "apiserver.key")}`,
            `--client-ca-file=${path.join(l.pki, "ca.crt")}`,
            `--token-auth-file=${l.tokens}`,
            `--requestheader-client-ca-file=${path.join(l.pki, "ca.crt")}`,
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            `--proxy-client-cert-file=${path.join(l.pki, "front-proxy-client.crt")}`,
            `--proxy-client-key-file=${path.join(l.pki, "front-proxy-client.key")}`,
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            `--service-account-key-file=${path.join(l.pki, "sa.pub")}`,
            `--service-account-signing-key-file=${path.join(l.pki, "sa.key")}`,
            "--service-cluster-ip-range=10.96.0.0/16",
            // The `kubernetes` Endpoints would otherwise be reconciled to the advertise address.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
        ]);
        await waitFor("kube-apiserver", "/readyz answered ok", async () => {
            const response = await api("GET", "/readyz");
            return response.status === 200;
        });
        log(`kube-apiserver ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);

        log("starting kube-controller-manager, kube-scheduler and kwok");
        await launch("kube-controller-manager", tools.kubeControllerManager, [
            `--kubeconfig=${kcmKubeconfig}`,
            `--authentication-kubeconfig=${kcmKubeconfig}`,
            `--authorization-kubeconfig=${kcmKubeconfig}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${ports.controllerManager}`,
            `--cert-dir=${path.join(l.pki, "kube-controller-manager")}`,
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            `--service-account-private-key-file=${path.join(l.pki, "sa.key")}`,
            `--root-ca-file=${path.join(l.pki, "ca.crt")}`,
            `--cluster-signing-cert-file=${path.join(l.pki, "ca.crt")}`,
            `--cluster-signing-key-file=${path.join(l.pki, "ca.key")}`,
            "--service-cluster-ip-range=10.96.0.0/16",
            // No cloud, no pod network: nothing allocates node CIDRs or routes.
            "--controllers=*,-node-ipam-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller",
        ]);
        await launch("kube-scheduler", tools.kubeScheduler, [
            `--kubeconfig=${schedulerKubeconfig}`,
            `--authentication-kubeconfig=${schedulerKubeconfig}`,
            `--authorization-kubeconfig=${schedulerKubeconfig}`,
            "--bind-address=127.0.0.1",
            `--secure-port=${ports.scheduler}`,
            "--leader-elect=false",
        ]);
        await launch(
            "kwok",
            tools.kwok,
            [
                `--kubeconfig=${kwokKubeconfig}`,
                `--config=${writeKwokStages(l, tools.kwokStages)}`,
                "--manage-all-nodes=false",
                `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
                // The address fake nodes report (the API server dials it for logs/exec): kwok's own server.
                "--node-ip=127.0.0.1",
                `--node-port=${ports.kwok}`,
                `--server-address=127.0.0.1:${ports.kwok}`,
                "--cidr=10.244.0.0/16",
                "--node-lease-duration-seconds=40",
            ],
            // kwok also reads ~/.kwok/kwok.yaml when it exists; give it a home of its own.
            { ...baseEnv, HOME: l.kwokHome },
        );
        await launch("istiod", process.execPath, ["--require", require.resolve("tsx/cjs"), LOCAL_ISTIOD_SCRIPT, writeLocalIstiodConfig(l, server, tools.pilotDiscovery, ports)]);

        // The default StorageClass and the static volume pool, then the fake nodes.
        await create("/apis/storage.k8s.io/v1/storageclasses", {
            apiVersion: "storage.k8s.io/v1",
            kind: "StorageClass",
            metadata: { name: STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
            provisioner: "kubernetes.io/no-provisioner",
            volumeBindingMode: "Immediate",
            reclaimPolicy: "Retain",
        });
        for (const [index, size] of volumeSizes.entries()) {
            const name = `local-pv-${String(index).padStart(2, "0")}`;
            await create("/api/v1/persistentvolumes", {
                apiVersion: "v1",
                kind: "PersistentVolume",
                metadata: { name, labels: { "pluggable-mesh.dev/local-cluster": "true" } },
                spec: {
                    capacity: { storage: size },
                    accessModes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
                    persistentVolumeReclaimPolicy: "Retain",
                    storageClassName: STORAGE_CLASS,
                    volumeMode: "Filesystem",
                    hostPath: { path: path.join(l.volumes, name), type: "DirectoryOrCreate" },
                },
            });
        }
        const nodeNames = Array.from({ length: nodeCount }, (_, index) => `kwok-node-${index}`);
        for (const name of nodeNames) {
            await create("/api/v1/nodes", {
                apiVersion: "v1",
                kind: "Node",
                metadata: {
                    name,
                    annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
                    labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
                },
                spec: {},
                status: {
                    allocatable: { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "1Ti" },
                    capacity: { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "1Ti" },
                    nodeInfo: { architecture: "amd64", operatingSystem: "linux", kubeletVersion: "fake", kubeProxyVersion: "fake" },
                },
            });
        }

        await waitFor("kube-scheduler", "/healthz answered ok", async () => {
            const response = await request(`https://127.0.0.1:${ports.scheduler}/healthz`, { insecure: true });
            return response.status === 200;
        });
        await waitFor("kube-controller-manager", "the `default` ServiceAccount appeared", async () => {
            const response = await api("GET", "/api/v1/namespaces/default/serviceaccounts/default");
            return response.status === 200;
        });
        await waitFor("kwok", "every fake Node became Ready", async () => {
            const response = await api("GET", "/api/v1/nodes");
            if (response.status !== 200) return false;
            const nodes = (JSON.parse(response.body) as { items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }).items;
            return nodeNames.every((name) =>
                nodes.some((node) => node.metadata.name === name && (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")),
            );
        });

        await waitFor("istiod", "the local istiod launcher watched for pods", async () => fs.readFileSync(logFile(l, "istiod"), "utf8").includes("watching for istiod pods"));

        const state: State = { server, ports, istiodWebhook, startedAt: new Date().toISOString() };
        fs.writeFileSync(l.state, JSON.stringify(state, null, 2));
        log(`ready after ${((Date.now() - started) / 1000).toFixed(1)} s: kubectl --kubeconfig ${l.kubeconfig} get nodes`);
        const pids = Object.fromEntries(COMPONENTS.map((component) => [component, children.get(component)!.pid!])) as Record<Component, number>;
        await portAllocator.releaseAll();
        if (options.detach) {
            cleanupHooks?.();
            cleanupHooks = undefined;
        }
        return { dir, kubeconfig: l.kubeconfig, server, pids, istiodWebhook, stop };
    } catch (error) {
        await stop();
        throw error;
    }
}

/**
 * kwok's stages: the upstream node and pod stages that tools.sh took from the kwok module, with
 * the pod-ready stage held back for pods that a local process runs (istiod's) until the process
 * is ready, plus a load balancer stage. Returns the file's path.
 */
function writeKwokStages(l: Layout, upstreamStages: string): string {
    const stages = parseAllDocuments(fs.readFileSync(upstreamStages, "utf8")).map((document) => document.toJS() as KwokStage);
    const podReady = stages.find((stage) => stage.metadata.name === "pod-ready");
    if (!podReady) throw new Error(`${upstreamStages} has no pod-ready stage; rebuild it with tools/tools.sh kwok`);
    const labels = Object.entries(ISTIOD_POD_SELECTOR).map(([key, value]) => `.metadata.labels.${key} == ${JSON.stringify(value)}`).join(" and ");
    podReady.spec.selector.matchExpressions.push({
        key: `if (${labels}) then (.metadata.annotations[${JSON.stringify(LOCAL_PROCESS_ANNOTATION)}] // "starting") else "ready" end`,
        operator: "In",
        values: ["ready"],
    });
    stages.push({
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "Stage",
        metadata: { name: "service-load-balancer" },
        spec: {
            resourceRef: { apiGroup: "v1", kind: "Service" },
            selector: {
                matchExpressions: [
                    { key: ".spec.type", operator: "In", values: ["LoadBalancer"] },
                    { key: ".status.loadBalancer.ingress", operator: "DoesNotExist" },
                ],
            },
            next: { statusTemplate: 'loadBalancer:\n  ingress:\n  - ip: "127.0.0.1"\n    ipMode: VIP\n' },
        },
    });
    const file = path.join(l.kwokHome, "stages.yaml");
    fs.writeFileSync(file, stages.map((stage) => stringify(stage)).join("---\n"));
    return file;
}

interface KwokStage {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: {
        resourceRef: { apiGroup: string; kind: string };
        selector: { matchExpressions: { key: string; operator: string; values?: string[] }[] };
        next: Record<string, unknown>;
    };
}

/** The local istiod launcher's configuration file (see localIstiod.ts); returns its path. */
function writeLocalIstiodConfig(l: Layout, server: string, pilotDiscovery: string, ports: Record<"istiodHttp" | "istiodWebhooks" | "istiodGrpc" | "istiodSecureGrpc" | "istiodMonitoring", number>): string {
    // istiod's mesh CA is "plugged in" as files: the cluster CA, so no istio-ca-secret is needed before its namespace exists.
    const cacerts = path.join(l.istiod, "etc", "cacerts");
    fs.mkdirSync(cacerts, { recursive: true, mode: 0o700 });
    for (const file of ["ca-cert.pem", "root-cert.pem", "cert-chain.pem"]) fs.copyFileSync(path.join(l.pki, "ca.crt"), path.join(cacerts, file));
    fs.copyFileSync(path.join(l.pki, "ca.key"), path.join(cacerts, "ca-key.pem"));
    const config: LocalIstiodConfig = {
        server,
        caCertFile: path.join(l.pki, "ca.crt"),
        adminTokenFile: path.join(l.pki, "admin.token"),
        pilotDiscovery,
        servingCertFile: path.join(l.pki, "istiod.crt"),
        servingKeyFile: path.join(l.pki, "istiod.key"),
        workDir: l.istiod,
        logFile: path.join(l.logs, "pilot-discovery.log"),
        ports: { http: ports.istiodHttp, webhooks: ports.istiodWebhooks, grpc: ports.istiodGrpc, secureGrpc: ports.istiodSecureGrpc, monitoring: ports.istiodMonitoring },
    };
    const file = path.join(l.istiod, "launcher.json");
    fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
    return file;
}

/**
 * Stops the components when this process ends: on exit (synchronously, SIGTERM only) and on
 * SIGINT/SIGTERM/SIGHUP (then the signal's usual effect, unless someone else handles it).
 * Returns a function that removes the hooks.
 */
function installExitHooks(l: Layout): () => void {
    const onExit = (): void => killSync(l);
    const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const signal of signals) {
        const handler = (): void => {
            killSync(l);
            remove();
            // Nobody else listens: behave as if we had not been here.
            if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        };
        handlers.set(signal, handler);
        process.on(signal, handler);
    }
    process.on("exit", onExit);
    function remove(): void {
        process.removeListener("exit", onExit);
        for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    }
    return remove;
}

/** Each component's PID (when it runs) and log file, and the logs folder, for `cluster:status`. */
export function componentStatus(dir: string = DEFAULT_CLUSTER_DIR): { logs: string; components: { name: Component; pid?: number; log: string }[] } {
    const l = layout(dir);
    const pids = livePids(l);
    return { logs: l.logs, components: COMPONENTS.map((name) => ({ name, pid: pids[name], log: logFile(l, name) })) };
}
