import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startCluster, type Cluster } from "../../devcluster/cluster";

/**
 * The embedded local cluster (devcluster/cluster.ts): real etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler, with kwok as the kubelet of fake nodes. Workloads
 * are scheduled, their pods become Running/Ready, and volume claims bind, with no container run.
 */

interface PodList {
    items: {
        metadata: { name: string; labels?: Record<string, string> };
        spec: { nodeName?: string };
        status: { phase?: string; conditions?: { type: string; status: string }[] };
    }[];
}

function isAlive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/^\d+ \(.*\) [ZX]/s.test(stat);
    } catch {
        return false;
    }
}

describe("the embedded local cluster", function () {
    const namespace = "cluster-test";
    let dir: string;
    let cluster: Cluster | undefined;
    let pids: number[] = [];

    const kubectl = (args: string[], input?: string): string =>
        execFileSync("kubectl", ["--kubeconfig", cluster!.kubeconfig, ...args], {
            encoding: "utf8",
            input,
            stdio: ["pipe", "pipe", "pipe"],
            timeout: 120_000,
        });

    before(async function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-cluster-"));
        const started = Date.now();
        // An override that the API server must accept (it refuses unknown flags and bad values).
        cluster = await startCluster({ dir, args: { "kube-apiserver": { "event-ttl": "30m" } }, log: (message) => console.log(`      cluster: ${message}`) });
        pids = Object.values(cluster.pids);
        console.log(`      (cluster started in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    });

    after(async function () {
        // Also runs when a test failed: nothing may outlive the suite.
        await cluster?.stop();
        for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} is still running after stop()`);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("serves kubectl with a parseable v1.34 version and fake nodes that are Ready", function () {
        const version = JSON.parse(kubectl(["version", "-o", "json"])) as { serverVersion: { gitVersion: string; major: string; minor: string } };
        assert.match(version.serverVersion.gitVersion, /^v1\.34\.\d+$/);
        assert.equal(version.serverVersion.minor, "34");
        const nodes = JSON.parse(kubectl(["get", "nodes", "-o", "json"])) as { items: { status: { conditions: { type: string; status: string }[] } }[] };
        assert.ok(nodes.items.length >= 1);
        for (const node of nodes.items) assert.ok(node.status.conditions.some((c) => c.type === "Ready" && c.status === "True"));
    });

    it("runs each component with its flags (the caller's override included) and a port of its own", function () {
        const cmdline = fs.readFileSync(`/proc/${cluster!.pids["kube-apiserver"]}/cmdline`, "utf8").split("\0");
        assert.ok(cmdline.includes("--event-ttl=30m"), cmdline.join(" "));
        const state = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")) as { ports: Record<string, number> };
        assert.equal(Object.keys(state.ports).length, 11);
        assert.equal(new Set(Object.values(state.ports)).size, 11);
        assert.equal(cluster!.server, `https://127.0.0.1:${state.ports["kube-apiserver.secure"]}`);
    });

    it("keeps istiod's ports held by its launcher until an istiod pod asks for pilot-discovery", async function () {
        const webhookPort = Number(new URL(cluster!.istiodWebhook.url).port);
        const bind = await new Promise<string>((resolve) => {
            const server = net.createServer();
            server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
            server.listen(webhookPort, "127.0.0.1", () => server.close(() => resolve("bound")));
        });
        assert.equal(bind, "EADDRINUSE");
        assert.match(fs.readFileSync(path.join(dir, "logs", "istiod.log"), "utf8"), /holding pilot-discovery's ports \(http, webhooks, grpc, secureGrpc, monitoring\) until it starts/);
    });

    it("runs a Deployment and a StatefulSet to Ready pods, with bound volume claims", function () {
        kubectl(["create", "namespace", namespace]);
        const manifests = [
            {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "web", namespace },
                spec: {
                    replicas: 2,
                    selector: { matchLabels: { app: "web" } },
                    template: {
                        metadata: { labels: { app: "web" } },
                        spec: { containers: [{ name: "web", image: "registry.k8s.io/pause:3.10", ports: [{ containerPort: 8080 }] }] },
                    },
                },
            },
            {
                apiVersion: "v1",
                kind: "Service",
                metadata: { name: "db", namespace },
                spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] },
            },
            {
                apiVersion: "apps/v1",
                kind: "StatefulSet",
                metadata: { name: "db", namespace },
                spec: {
                    serviceName: "db",
                    replicas: 2,
                    selector: { matchLabels: { app: "db" } },
                    template: {
                        metadata: { labels: { app: "db" } },
                        spec: {
                            containers: [
                                {
                                    name: "db",
                                    image: "registry.k8s.io/pause:3.10",
                                    volumeMounts: [{ name: "data", mountPath: "/var/lib/data" }],
                                },
                            ],
                        },
                    },
                    volumeClaimTemplates: [
                        {
                            metadata: { name: "data" },
                            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
                        },
                    ],
                },
            },
        ];
        kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }));

        kubectl(["-n", namespace, "rollout", "status", "deployment/web", "--timeout=90s"]);
        kubectl(["-n", namespace, "rollout", "status", "statefulset/db", "--timeout=90s"]);
        kubectl(["-n", namespace, "wait", "--for=jsonpath={.status.phase}=Bound", "pvc", "--all", "--timeout=60s"]);

        const pods = JSON.parse(kubectl(["-n", namespace, "get", "pods", "-o", "json"])) as PodList;
        const byApp = (app: string) => pods.items.filter((pod) => pod.metadata.labels?.app === app);
        assert.equal(byApp("web").length, 2);
        assert.equal(byApp("db").length, 2);
        for (const pod of pods.items) {
            assert.equal(pod.status.phase, "Running", `${pod.metadata.name} is ${pod.status.phase}`);
            assert.ok(
                pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
                `${pod.metadata.name} is not Ready`,
            );
            assert.match(pod.spec.nodeName ?? "", /^kwok-node-/);
        }

        const claims = JSON.parse(kubectl(["-n", namespace, "get", "pvc", "-o", "json"])) as {
            items: { metadata: { name: string }; spec: { storageClassName?: string; volumeName?: string }; status: { phase: string } }[];
        };
        assert.deepEqual(claims.items.map((claim) => claim.metadata.name).sort(), ["data-db-0", "data-db-1"]);
        for (const claim of claims.items) {
            assert.equal(claim.status.phase, "Bound");
            // The default StorageClass was filled in by the admission plugin.
            assert.equal(claim.spec.storageClassName, "standard");
            assert.ok(claim.spec.volumeName);
        }
    });

    it("stops, leaving no process behind", async function () {
        await cluster!.stop();
        for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} is still running after stop()`);
        assert.equal(fs.existsSync(path.join(dir, "etcd")), false);
    });
});
