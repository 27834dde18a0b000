import assert from "node:assert/strict";
import * as path from "node:path";
import { tokenFileText, type Tokens } from "../devcluster/auth";
import { persistentVolume, storageClass } from "../devcluster/bootstrap";
import { renderFlags, type ClusterContext } from "../devcluster/component";
import { CLUSTER_COMPONENTS, etcd, istiod, kubeApiserver, kubeControllerManager, kubeScheduler, kwok } from "../devcluster/components";
import { localIstiodConfig } from "../devcluster/components/istiod";
import { kwokStages } from "../devcluster/components/kwok";
import { layout } from "../devcluster/layout";
import { validateManifest } from "./support/schemas";

/**
 * The embedded cluster's components (devcluster/components/): the command each one runs, with the
 * caller's flag overrides applied, and the files they are given. The integration suite
 * (test/integration/cluster.test.ts) runs them for real.
 */

const PORTS: Record<string, number> = {
    "etcd.client": 2379,
    "etcd.peer": 2380,
    "kube-apiserver.secure": 6443,
    "kube-controller-manager.secure": 10257,
    "kube-scheduler.secure": 10259,
    "kwok.server": 10247,
    "istiod.http": 15001,
    "istiod.webhooks": 15002,
    "istiod.grpc": 15003,
    "istiod.secureGrpc": 15004,
    "istiod.monitoring": 15005,
};

const l = layout("/c");
const pki = path.join("/c", "pki");
const context: ClusterContext = {
    layout: l,
    tools: {
        etcd: "/t/etcd",
        kubeApiserver: "/t/kube-apiserver",
        kubeControllerManager: "/t/kube-controller-manager",
        kubeScheduler: "/t/kube-scheduler",
        kwok: "/t/kwok",
        kwokStages: "/t/stages.yaml",
        pilotDiscovery: "/t/pilot-discovery",
    },
    port: (owner) => {
        const port = PORTS[owner];
        if (port === undefined) throw new Error(`no port was reserved for ${owner}`);
        return port;
    },
    server: "https://127.0.0.1:6443",
    caPem: "-----BEGIN CERTIFICATE-----\n",
    pki: {
        caCert: `${pki}/ca.crt`,
        caKey: `${pki}/ca.key`,
        apiserverCert: `${pki}/apiserver.crt`,
        apiserverKey: `${pki}/apiserver.key`,
        frontProxyClientCert: `${pki}/front-proxy-client.crt`,
        frontProxyClientKey: `${pki}/front-proxy-client.key`,
        istiodCert: `${pki}/istiod.crt`,
        istiodKey: `${pki}/istiod.key`,
        serviceAccountKey: `${pki}/sa.key`,
        serviceAccountPublicKey: `${pki}/sa.pub`,
    },
    kubeconfigs: { "kube-controller-manager": "/c/kubeconfigs/kcm", "kube-scheduler": "/c/kubeconfigs/sched", kwok: "/c/kubeconfigs/kwok" },
    adminToken: "admin-token",
    api: () => Promise.reject(new Error("no API server in unit tests")),
    nodeNames: ["kwok-node-0"],
};

describe("devcluster components", function () {
    describe("flag overrides", function () {
        const defaults = { "secure-port": "6443", profiling: "false", "bind-address": "127.0.0.1" };

        it("replaces a flag where it stands, removes one given null, appends a new one and repeats a list", function () {
            assert.deepEqual(renderFlags(defaults, { profiling: "true", "bind-address": null, v: "4", "feature-gates": ["A=true", "B=false"] }), [
                "--secure-port=6443",
                "--profiling=true",
                "--v=4",
                "--feature-gates=A=true",
                "--feature-gates=B=false",
            ]);
        });

        it("renders the defaults unchanged without overrides", function () {
            assert.deepEqual(renderFlags(defaults), ["--secure-port=6443", "--profiling=false", "--bind-address=127.0.0.1"]);
        });

        it("refuses a flag name written with its dashes, naming it", function () {
            assert.throws(() => renderFlags(defaults, { "--v": "4" }), { message: 'flag override "--v": give the flag\'s name without leading dashes' });
        });
    });

    it("starts in envtest's order, each with ports of its own, and gives istiod (which drains 10 s) the longest stop grace", function () {
        assert.deepEqual(
            CLUSTER_COMPONENTS.map((c) => [c.name, c.ports.join(",")]),
            [
                ["etcd", "client,peer"],
                ["kube-apiserver", "secure"],
                ["kube-controller-manager", "secure"],
                ["kube-scheduler", "secure"],
                ["kwok", "server"],
                ["istiod", "http,webhooks,grpc,secureGrpc,monitoring"],
            ],
        );
        // Only the istiod launcher holds its ports itself (pilot-discovery starts when a pod appears).
        assert.deepEqual(
            CLUSTER_COMPONENTS.filter((c) => c.takesHeldPorts).map((c) => c.name),
            ["istiod"],
        );
        assert.deepEqual(
            CLUSTER_COMPONENTS.map((c) => c.stopTimeoutMs),
            [10_000, 10_000, 10_000, 10_000, 10_000, 20_000],
        );
        // Every reserved owner the components ask for exists, and no two components share a port.
        const owners = CLUSTER_COMPONENTS.flatMap((c) => c.ports.map((role) => `${c.name}.${role}`));
        assert.deepEqual(owners.sort(), Object.keys(PORTS).sort());
    });

    it("runs etcd on loopback with its reserved client and peer ports", function () {
        assert.deepEqual(etcd.command(context), {
            binary: "/t/etcd",
            args: [
                "--name=local",
                "--data-dir=/c/etcd",
                "--listen-client-urls=http://127.0.0.1:2379",
                "--advertise-client-urls=http://127.0.0.1:2379",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=local=http://127.0.0.1:2380",
                "--initial-cluster-state=new",
                "--logger=zap",
                "--log-outputs=stderr",
            ],
        });
    });

    it("runs kube-apiserver against etcd with the cluster's certificates and tokens, and applies overrides", function () {
        const { binary, args } = kubeApiserver.command(context);
        assert.equal(binary, "/t/kube-apiserver");
        for (const flag of [
            "--etcd-servers=http://127.0.0.1:2379",
            "--bind-address=127.0.0.1",
            "--secure-port=6443",
            "--tls-cert-file=/c/pki/apiserver.crt",
            "--tls-private-key-file=/c/pki/apiserver.key",
            "--client-ca-file=/c/pki/ca.crt",
            "--token-auth-file=/c/pki/tokens.csv",
            "--proxy-client-cert-file=/c/pki/front-proxy-client.crt",
            "--service-account-key-file=/c/pki/sa.pub",
            "--service-account-signing-key-file=/c/pki/sa.key",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            "--profiling=false",
        ]) {
            assert.ok(args.includes(flag), `missing ${flag} in ${args.join(" ")}`);
        }
        const overridden = kubeApiserver.command(context, { "authorization-mode": "Node,RBAC", profiling: null, v: "4" }).args;
        assert.equal(overridden.length, args.length);
        assert.equal(overridden.indexOf("--authorization-mode=Node,RBAC"), args.indexOf("--authorization-mode=RBAC"));
        assert.equal(overridden.includes("--profiling=false"), false);
        assert.equal(overridden.at(-1), "--v=4");
    });

    it("runs the controller manager and the scheduler with their own kubeconfigs and ports", function () {
        const kcm = kubeControllerManager.command(context).args;
        for (const flag of [
            "--kubeconfig=/c/kubeconfigs/kcm",
            "--secure-port=10257",
            "--cluster-signing-cert-file=/c/pki/ca.crt",
            "--cluster-signing-key-file=/c/pki/ca.key",
            "--root-ca-file=/c/pki/ca.crt",
            "--service-account-private-key-file=/c/pki/sa.key",
            "--controllers=*,-node-ipam-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller",
        ]) {
            assert.ok(kcm.includes(flag), `missing ${flag}`);
        }
        assert.deepEqual(kubeScheduler.command(context, { "leader-elect": "true" }), {
            binary: "/t/kube-scheduler",
            args: [
                "--kubeconfig=/c/kubeconfigs/sched",
                "--authentication-kubeconfig=/c/kubeconfigs/sched",
                "--authorization-kubeconfig=/c/kubeconfigs/sched",
                "--bind-address=127.0.0.1",
                "--secure-port=10259",
                "--leader-elect=true",
            ],
        });
    });

    it("runs kwok for the annotated fake nodes only, with a home of its own", function () {
        const command = kwok.command(context, { cidr: "10.250.0.0/16" });
        assert.equal(command.binary, "/t/kwok");
        assert.deepEqual(command.env, { HOME: "/c/kwok" });
        assert.deepEqual(command.args, [
            "--kubeconfig=/c/kubeconfigs/kwok",
            "--config=/c/kwok/stages.yaml",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--node-ip=127.0.0.1",
            "--node-port=10247",
            "--server-address=127.0.0.1:10247",
            "--cidr=10.250.0.0/16",
            "--node-lease-duration-seconds=40",
        ]);
    });

    it("holds istiod pods back from kwok's pod-ready stage until the local process is ready, and gives LoadBalancers an address", function () {
        const upstream = [
            "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: pod-ready\nspec:\n  resourceRef:\n    apiGroup: v1\n    kind: Pod\n  selector:\n    matchExpressions:\n    - key: .status.phase\n      operator: In\n      values: [Pending]\n  next: {}\n",
            "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: node-initialize\nspec:\n  resourceRef:\n    apiGroup: v1\n    kind: Node\n  selector:\n    matchExpressions: []\n  next: {}\n",
        ].join("---\n");
        const stages = kwokStages(upstream, "/t/stages.yaml");
        assert.deepEqual(
            stages.map((s) => s.metadata.name),
            ["pod-ready", "node-initialize", "service-load-balancer"],
        );
        assert.deepEqual(stages[0]!.spec.selector.matchExpressions[1], {
            key: 'if (.metadata.labels.app == "istiod" and .metadata.labels.istio == "pilot") then (.metadata.annotations["pluggable-mesh.dev/local-process"] // "starting") else "ready" end',
            operator: "In",
            values: ["ready"],
        });
        assert.throws(() => kwokStages(upstream.split("---\n")[1]!, "/t/stages.yaml"), { message: "/t/stages.yaml has no pod-ready stage; rebuild it with tools/tools.sh kwok" });
    });

    it("configures the local istiod launcher with its five ports, the webhook certificate and the cluster CA", function () {
        assert.deepEqual(localIstiodConfig(context), {
            server: "https://127.0.0.1:6443",
            caCertFile: "/c/pki/ca.crt",
            adminTokenFile: "/c/pki/admin.token",
            pilotDiscovery: "/t/pilot-discovery",
            servingCertFile: "/c/pki/istiod.crt",
            servingKeyFile: "/c/pki/istiod.key",
            workDir: "/c/istiod",
            logFile: "/c/logs/pilot-discovery.log",
            ports: { http: 15001, webhooks: 15002, grpc: 15003, secureGrpc: 15004, monitoring: 15005 },
        });
        const command = istiod.command(context, { ignored: "x" });
        assert.equal(command.binary, process.execPath);
        assert.deepEqual(command.args.slice(-2), [path.resolve(__dirname, "../devcluster/localIstiod.ts"), "/c/istiod/launcher.json"]);
        // The supervisor recognizes its processes by their command line, not by a PID alone.
        assert.equal(istiod.runs([process.execPath, ...command.args]), true);
        assert.equal(istiod.runs([process.execPath, "--require", "tsx/cjs", "/elsewhere/localIstiod.ts"]), false);
        assert.equal(kubeApiserver.runs(["/t/kube-apiserver", "--secure-port=1"]), true);
        assert.equal(kubeApiserver.runs(["/usr/bin/kube-apiserver-wrapper"]), false);
    });

    it("writes the token file kube-apiserver reads: admins in system:masters, control-plane users as the bootstrap policy names them", function () {
        const tokens: Tokens = { admin: "t1", "kube-controller-manager": "t2", "kube-scheduler": "t3", kwok: "t4" };
        assert.equal(
            tokenFileText(tokens),
            't1,admin,admin,"system:masters"\nt2,system:kube-controller-manager,system:kube-controller-manager\nt3,system:kube-scheduler,system:kube-scheduler\nt4,kwok,kwok,"system:masters"\n',
        );
    });

    it("makes a default StorageClass and hostPath volumes that the Kubernetes schema accepts", async function () {
        await validateManifest(storageClass() as { apiVersion: string; kind: string });
        const volume = persistentVolume(3, "10Gi", "/c/volumes") as { apiVersion: string; kind: string; metadata: { name: string }; spec: { hostPath: { path: string } } };
        await validateManifest(volume);
        assert.equal(volume.metadata.name, "local-pv-03");
        assert.equal(volume.spec.hostPath.path, "/c/volumes/local-pv-03");
    });
});
