import { spawn, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as path from "node:path";
import { request, type Response } from "./http";
import { kubeconfigText } from "./kubeconfig";
import { closeAll, receivePorts } from "./ports";

/**
 * Runs the istiod pod of the embedded cluster as a local process, the way a kubelet would run it:
 * kwok fakes every other pod, but Istio mode is only proven when a real istiod validates our
 * objects and injects our pods.
 *
 * It watches for the pod that Istio's `istiod` chart creates (labels `app=istiod,istio=pilot`),
 * then starts `pilot-discovery` with that pod's own arguments and environment, authenticated as
 * the pod's ServiceAccount through a bound token (so the chart's RBAC is what istiod gets), with
 * its servers on 127.0.0.1 and the webhook server's certificate that the cluster issued. The
 * charts point the webhooks at that server (`istio.webhookEndpoint`). Once istiod answers
 * `/ready`, the pod is annotated {@link LOCAL_PROCESS_ANNOTATION}`=ready`, and only then does
 * kwok's pod-ready stage mark it Ready: Pulumi's wait for the istiod Deployment means what it
 * means on a real cluster. A newer pod (a rollout) restarts the process with the new spec; no pod
 * stops it.
 *
 *   tsx devcluster/localIstiod.ts <config.json>    (started and stopped by devcluster/cluster.ts;
 *                                                  its configuration: devcluster/components/istiod.ts)
 *
 * The cluster hands it pilot-discovery's ports as open sockets; it holds them until it starts
 * pilot-discovery, so nothing else can take them meanwhile.
 *
 * May import: node built-ins and devcluster's http.ts, kubeconfig.ts and ports.ts (it runs as its own process).
 */

/** The pod annotation that releases a locally run pod to kwok's pod-ready stage. */
export const LOCAL_PROCESS_ANNOTATION = "pluggable-mesh.dev/local-process";
/** Label selector of the pods this launcher runs. */
export const ISTIOD_POD_SELECTOR = { app: "istiod", istio: "pilot" } as const;

/** Written by devcluster/cluster.ts next to the launcher's working directory. */
export interface LocalIstiodConfig {
    /** https://127.0.0.1:<port> */
    server: string;
    /** The cluster CA (PEM file): trusts the API server, signed the webhook certificate, and is istiod's plugged-in mesh CA. */
    caCertFile: string;
    /** Token of a cluster admin: lists and annotates pods, requests the ServiceAccount token (the kubelet's part). */
    adminTokenFile: string;
    /** The pilot-discovery binary. */
    pilotDiscovery: string;
    /** Serving certificate and key of the webhook server (SANs include IP 127.0.0.1). */
    servingCertFile: string;
    servingKeyFile: string;
    /** Working directory of istiod (plugged-in CA certificates under ./etc/cacerts). */
    workDir: string;
    /** Where pilot-discovery's output goes. */
    logFile: string;
    ports: { http: number; webhooks: number; grpc: number; secureGrpc: number; monitoring: number };
}

interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: {
        fieldRef?: { fieldPath: string };
        resourceFieldRef?: { resource: string; divisor?: string };
    };
}

interface Container {
    name: string;
    args?: string[];
    env?: EnvVar[];
    resources?: { limits?: Record<string, string> };
}

export interface Pod {
    metadata: {
        name: string;
        namespace: string;
        uid: string;
        creationTimestamp?: string;
        deletionTimestamp?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
    };
    spec: { nodeName?: string; serviceAccountName?: string; containers: Container[] };
}

/** What to run for a pod: the arguments and environment, and a key that changes with the pod or its spec. */
export interface ProcessSpec {
    args: string[];
    env: Record<string, string>;
    key: string;
    /** Environment entries that could not be resolved here, for the log. */
    skipped: string[];
}

function fieldOf(pod: Pod, fieldPath: string): string | undefined {
    switch (fieldPath) {
        case "metadata.name":
            return pod.metadata.name;
        case "metadata.namespace":
            return pod.metadata.namespace;
        case "metadata.uid":
            return pod.metadata.uid;
        case "spec.serviceAccountName":
            return pod.spec.serviceAccountName ?? "default";
        case "spec.nodeName":
            return pod.spec.nodeName;
        default:
            return undefined;
    }
}

/** Whole CPUs of a quantity ("2", "1500m"), rounded up, at least 1; undefined when absent or unreadable. */
export function wholeCpus(quantity: string | undefined): number | undefined {
    if (quantity === undefined) return undefined;
    const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity);
    if (!match) return undefined;
    const cores = Number(match[1]) / (match[2] === "m" ? 1000 : 1);
    return Math.max(1, Math.ceil(cores));
}

/**
 * The `discovery` container of an istiod pod as a local command: its args and env as the kubelet
 * would resolve them, then our overrides (the last occurrence of a flag wins): every server on
 * 127.0.0.1, the webhook certificate, and a kubeconfig with the pod's ServiceAccount token.
 */
export function istiodProcessSpec(pod: Pod, config: LocalIstiodConfig, kubeconfigFile: string): ProcessSpec {
    const container = pod.spec.containers.find((c) => c.name === "discovery") ?? pod.spec.containers[0];
    if (!container) throw new Error(`pod ${pod.metadata.namespace}/${pod.metadata.name} has no container`);
    const env: Record<string, string> = {};
    const skipped: string[] = [];
    for (const variable of container.env ?? []) {
        if (variable.valueFrom === undefined) {
            // An empty value is dropped from the stored object; the kubelet sets the variable to "".
            env[variable.name] = variable.value ?? "";
        } else if (variable.valueFrom?.fieldRef) {
            const value = fieldOf(pod, variable.valueFrom.fieldRef.fieldPath);
            if (value === undefined) skipped.push(`${variable.name} (fieldRef ${variable.valueFrom.fieldRef.fieldPath})`);
            else env[variable.name] = value;
        } else if (variable.valueFrom?.resourceFieldRef?.resource === "limits.cpu") {
            // GOMAXPROCS: the limit in whole CPUs; without a limit the kubelet gives the node's count, Go's own default here.
            const cpus = wholeCpus(container.resources?.limits?.cpu);
            if (cpus !== undefined) env[variable.name] = String(cpus);
        } else {
            skipped.push(`${variable.name} (valueFrom)`);
        }
    }
    // The pod's KUBECONFIG names a remote-cluster secret mount that does not exist here.
    env.KUBECONFIG = kubeconfigFile;
    const loopback = (port: number) => `127.0.0.1:${port}`;
    const args = [
        ...(container.args ?? []),
        `--kubeconfig=${kubeconfigFile}`,
        `--httpAddr=${loopback(config.ports.http)}`,
        `--httpsAddr=${loopback(config.ports.webhooks)}`,
        `--grpcAddr=${loopback(config.ports.grpc)}`,
        `--secureGRPCAddr=${loopback(config.ports.secureGrpc)}`,
        `--monitoringAddr=${loopback(config.ports.monitoring)}`,
        `--tlsCertFile=${config.servingCertFile}`,
        `--tlsKeyFile=${config.servingKeyFile}`,
        `--caCertFile=${config.caCertFile}`,
    ];
    const key = crypto
        .createHash("sha256")
        // A new pod is a new process, as under a kubelet: its ServiceAccount token is bound to the pod.
        .update(JSON.stringify({ uid: pod.metadata.uid, args: container.args ?? [], env: container.env ?? [] }))
        .digest("hex");
    return { args, env, key, skipped };
}

/** The injection template's ConfigMap for a revision, as istiod looks it up. */
export function injectorConfigMapName(revision: string | undefined): string {
    return !revision || revision === "default" ? "istio-sidecar-injector" : `istio-sidecar-injector-${revision}`;
}

/** The pod to run: the newest scheduled one that is not being deleted. */
export function podToRun(pods: readonly Pod[]): Pod | undefined {
    return pods
        .filter((pod) => pod.spec.nodeName && !pod.metadata.deletionTimestamp)
        .sort((a, b) => (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? "") || b.metadata.name.localeCompare(a.metadata.name))[0];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class Launcher {
    private readonly caPem: string;
    private readonly adminToken: string;
    private child: ChildProcess | undefined;
    private running: { key: string; pod: string } | undefined;
    private stopping = false;

    constructor(
        private readonly config: LocalIstiodConfig,
        /** pilot-discovery's ports, held open until it starts (none when started by hand). */
        private heldPorts?: Map<string, net.Server>,
    ) {
        this.caPem = fs.readFileSync(config.caCertFile, "utf8");
        this.adminToken = fs.readFileSync(config.adminTokenFile, "utf8").trim();
    }

    private log(message: string): void {
        process.stdout.write(`${new Date().toISOString()} local-istiod: ${message}\n`);
    }

    private api(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<Response> {
        return request(`${this.config.server}${apiPath}`, { method, body, contentType, token: this.adminToken, ca: this.caPem });
    }

    private async pods(): Promise<Pod[]> {
        const selector = Object.entries(ISTIOD_POD_SELECTOR).map(([k, v]) => `${k}=${v}`).join(",");
        const response = await this.api("GET", `/api/v1/pods?labelSelector=${encodeURIComponent(selector)}`);
        if (response.status !== 200) throw new Error(`listing istiod pods: HTTP ${response.status}: ${response.body}`);
        return (JSON.parse(response.body) as { items: Pod[] }).items;
    }

    /** A token of the pod's ServiceAccount bound to the pod, as the kubelet mounts it. */
    private async serviceAccountToken(pod: Pod): Promise<string> {
        const account = pod.spec.serviceAccountName ?? "default";
        const response = await this.api("POST", `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${account}/token`, {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenRequest",
            spec: { expirationSeconds: 86_400, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid } },
        });
        if (response.status !== 201) throw new Error(`token for ServiceAccount ${pod.metadata.namespace}/${account}: HTTP ${response.status}: ${response.body}`);
        return (JSON.parse(response.body) as { status: { token: string } }).status.token;
    }

    private get kubeconfigFile(): string {
        return path.join(this.config.workDir, "kubeconfig");
    }

    private async start(pod: Pod): Promise<void> {
        const spec = istiodProcessSpec(pod, this.config, this.kubeconfigFile);
        const injector = await this.api("GET", `/api/v1/namespaces/${pod.metadata.namespace}/configmaps/${injectorConfigMapName(spec.env.REVISION)}`);
        // istiod reads its injection template once at start and skips injection for good if it is missing.
        if (injector.status !== 200) return;
        fs.writeFileSync(this.kubeconfigFile, kubeconfigText(this.config.server, this.caPem, "istiod", await this.serviceAccountToken(pod)), { mode: 0o600 });
        if (spec.skipped.length > 0) this.log(`environment not resolvable outside a pod, left out: ${spec.skipped.join(", ")}`);
        if (this.heldPorts) {
            await closeAll(this.heldPorts.values());
            this.heldPorts = undefined;
        }
        const out = fs.openSync(this.config.logFile, "a");
        const child = spawn(this.config.pilotDiscovery, spec.args, { cwd: this.config.workDir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...spec.env }, stdio: ["ignore", out, out] });
        fs.closeSync(out);
        const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
        this.log(`started pilot-discovery (pid ${child.pid}) for pod ${name}; its log: ${this.config.logFile}`);
        child.on("exit", (code, signal) => {
            if (this.child === child) {
                this.log(`pilot-discovery for ${name} exited (${signal ?? `code ${code}`})`);
                this.child = undefined;
                this.running = undefined;
            }
        });
        this.child = child;
        this.running = { key: spec.key, pod: name };
    }

    private async stopChild(): Promise<void> {
        const child = this.child;
        if (!child) return;
        this.child = undefined;
        this.running = undefined;
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        // istiod drains for --shutdownDuration (10 s by default) before it exits.
        const timedOut = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
        if (timedOut) {
            child.kill("SIGKILL");
            await exited;
        }
    }

    private async ready(): Promise<boolean> {
        try {
            return (await request(`http://127.0.0.1:${this.config.ports.http}/ready`, { timeoutMs: 2000 })).status === 200;
        } catch {
            return false;
        }
    }

    private async markReady(pods: readonly Pod[]): Promise<void> {
        for (const pod of pods) {
            if (pod.metadata.deletionTimestamp || pod.metadata.annotations?.[LOCAL_PROCESS_ANNOTATION] === "ready") continue;
            const response = await this.api(
                "PATCH",
                `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
                { metadata: { annotations: { [LOCAL_PROCESS_ANNOTATION]: "ready" } } },
                "application/merge-patch+json",
            );
            if (response.status === 200) this.log(`pod ${pod.metadata.namespace}/${pod.metadata.name} released to kwok's pod-ready stage`);
        }
    }

    async run(): Promise<void> {
        const stop = () => {
            this.stopping = true;
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
        this.log("watching for istiod pods");
        while (!this.stopping) {
            try {
                const pods = await this.pods();
                const pod = podToRun(pods);
                if (!pod) {
                    if (this.child) {
                        this.log(`no istiod pod is left: stopping pilot-discovery for ${this.running?.pod}`);
                        await this.stopChild();
                    }
                } else {
                    const wanted = istiodProcessSpec(pod, this.config, this.kubeconfigFile).key;
                    if (this.child && this.running?.key !== wanted) {
                        this.log(`pod ${pod.metadata.namespace}/${pod.metadata.name} replaces ${this.running?.pod}: restarting pilot-discovery`);
                        await this.stopChild();
                    }
                    if (!this.child) await this.start(pod);
                    if (this.child && (await this.ready())) await this.markReady(pods.filter((p) => p.metadata.namespace === pod.metadata.namespace));
                }
            } catch (error) {
                this.log(`error: ${(error as Error).message}`);
            }
            await sleep(1000);
        }
        await this.stopChild();
        this.log("stopped");
    }
}

if (require.main === module) {
    const file = process.argv[2];
    if (!file) {
        process.stderr.write("usage: tsx devcluster/localIstiod.ts <config.json>\n");
        process.exit(2);
    }
    const config = JSON.parse(fs.readFileSync(file, "utf8")) as LocalIstiodConfig;
    const main = async (): Promise<void> => {
        const held = await receivePorts(Object.keys(config.ports));
        if (held) process.stdout.write(`${new Date().toISOString()} local-istiod: holding pilot-discovery's ports (${[...held.keys()].join(", ")}) until it starts\n`);
        await new Launcher(config, held).run();
    };
    main().then(
        () => process.exit(0),
        (error: unknown) => {
            process.stderr.write(`local-istiod: ${(error as Error).message}\n`);
            process.exit(1);
        },
    );
}
