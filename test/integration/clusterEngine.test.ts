import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startCluster, type Cluster } from "../../devcluster/cluster";
import { ensureTools, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../../engine/engine";
import { identities, kubectlFor, type Kubectl } from "../support/kubectl";
import { linkerdCrds, linkerdCrdsList } from "../support/linkerdCrds";
import { FEATURES_SPEC } from "../support/meshRuns";

/**
 * The real engine and provider against the embedded cluster (real API server, controllers and
 * kwok nodes): admission, defaulting, immutable fields on update and Pulumi's await logic, which
 * render mode cannot show. RuoYi is deployed without its Ingress: the embedded cluster has no
 * ingress controller, so an Ingress would never get an address and Pulumi would rightly wait.
 * Linkerd's CRDs (its linkerd-crds chart, as the unit tests render it) are installed first, so the
 * switch to mode linkerd has the API server validate every Linkerd object, CEL rules included.
 */

const NAMESPACE = "ruoyi";
/** The volumes-and-externals fixture's namespace, deployed beside RuoYi. */
const FEATURES = "features";

describe("the real engine on the embedded cluster", function () {
    let cluster: Cluster;
    let tools: Tools;
    let scratch: string;
    let spec: string;

    before(async function () {
        tools = ensureTools();
        // Config paths (specs, the kubeconfig) may not leave the project (issue #11): scratch is under out/.
        fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
        scratch = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", "pluggable-mesh-cluster-engine-"));
        cluster = await startCluster({ dir: path.join(scratch, "cluster") });
        // create, not apply: the route CRDs are larger than the last-applied annotation may be.
        const crds = path.join(scratch, "linkerd-crds.json");
        fs.writeFileSync(crds, linkerdCrdsList());
        kubectl("create", "-f", crds);
        kubectl("wait", "--for=condition=Established", "--timeout=60s", ...linkerdCrds().map((crd) => `crd/${crd.metadata.name}`));
        spec = path.join(scratch, "ruoyi.yaml");
        const ruoyi = fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "apps", "ruoyi.yaml"), "utf8");
        const withoutIngress = ruoyi.replace(/^\s+expose: .*\n/m, "");
        assert.notEqual(withoutIngress, ruoyi);
        fs.writeFileSync(spec, withoutIngress);
    });

    after(async function () {
        await cluster?.stop();
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    const kubectl: Kubectl = (...args) => kubectlFor(cluster.kubeconfig)(...args);

    async function stackIn(mode: string): Promise<EngineStack> {
        return openStack("cluster-it", tools, {
            stateDir: path.join(scratch, "state"),
            configFrom: "dev",
            overrides: {
                "pluggable-mesh:kubernetes": { kubeconfig: cluster.kubeconfig },
                "pluggable-mesh:mode": mode,
                "pluggable-mesh:linkerd": { controlPlane: "existing" },
                "pluggable-mesh:apps": [{ spec }, { spec: FEATURES_SPEC }],
            },
        });
    }

    /**
     * What pods of one mode offer a caller, read back from the cluster: per headless Service, the
     * ports its pods declare, their IPs, and the EndpointSlices' addresses and ports (what a
     * Service-based caller is sent to). Taken after each switch's roll, so two of them are the old
     * and the new pod set of a roll.
     */
    interface PodSet {
        mode: string;
        /** headless Service → what its pods and EndpointSlices say */
        services: Record<string, { podIps: string[]; podPorts: number[]; sliceAddresses: string[]; slicePorts: number[] }>;
    }

    function podSet(mode: string, services: readonly string[]): PodSet {
        const result: PodSet = { mode, services: {} };
        for (const service of services) {
            const selector = JSON.parse(kubectl("get", "service", service, "-n", NAMESPACE, "-o", "json")).spec.selector as Record<string, string>;
            const pods = JSON.parse(kubectl("get", "pods", "-n", NAMESPACE, "-l", Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(","), "-o", "json")).items as any[];
            const slices = JSON.parse(kubectl("get", "endpointslices", "-n", NAMESPACE, "-l", `kubernetes.io/service-name=${service}`, "-o", "json")).items as any[];
            const containerPorts = (pod: any) =>
                [...pod.spec.containers, ...(pod.spec.initContainers ?? []).filter((container: any) => container.restartPolicy === "Always")].flatMap((container: any) => (container.ports ?? []).map((port: any) => port.containerPort as number));
            result.services[service] = {
                podIps: pods.map((pod) => pod.status.podIP as string).sort(),
                podPorts: [...new Set(pods.flatMap(containerPorts))].sort((a, b) => a - b),
                sliceAddresses: slices.flatMap((slice) => (slice.endpoints ?? []).flatMap((endpoint: any) => endpoint.addresses as string[])).sort(),
                slicePorts: [...new Set(slices.flatMap((slice) => (slice.ports ?? []).map((port: any) => port.port as number)))].sort((a, b) => a - b),
            };
        }
        return result;
    }

    /** The outbound clusters of ruoyi-admin's running envoy bootstrap: headless Service and the port dialled on its pods. */
    function envoyUpstreams(): { service: string; port: number }[] {
        const template = JSON.parse(kubectl("get", "deployment", "ruoyi-admin", "-n", NAMESPACE, "-o", "json")).spec.template;
        const configMap = template.spec.volumes.find((volume: any) => volume.name === "envoy-config").configMap.name as string;
        const bootstrap = JSON.parse(JSON.parse(kubectl("get", "configmap", configMap, "-n", NAMESPACE, "-o", "json")).data["envoy.json"]);
        return (bootstrap.static_resources.clusters as any[])
            .filter((cluster) => cluster.type === "STRICT_DNS")
            .map((cluster) => cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address)
            .map((address) => ({ service: (address.address as string).split(".")[0]!, port: address.port_value as number }));
    }

    let first: Record<string, string> = {};
    let firstFeatures: Record<string, string> = {};
    /** ruoyi-admin's envoy bootstrap and its callees' pods after the switch to envoy; the callees' pods after the switch to linkerd. */
    let envoyCaller: { upstreams: { service: string; port: number }[]; pods: PodSet } | undefined;
    let linkerdCallees: PodSet | undefined;
    /** What the first up printed, searched for the secret value later. */
    let upOutput = "";

    it("up creates RuoYi and waits until its pods are Ready; the claim binds", async function () {
        const { stack, configFile, guard } = await stackIn("native");
        const result = await guard(() => stack.up({ configFile }));
        assert.equal(result.summary.result, "succeeded");
        upOutput = result.stdout + result.stderr;
        const deployments = JSON.parse(kubectl("get", "deployments", "-n", NAMESPACE, "-o", "json")) as { items: { metadata: { name: string }; status: { readyReplicas?: number } }[] };
        assert.deepEqual(deployments.items.map((item) => [item.metadata.name, item.status.readyReplicas]).sort(), [["redis", 1], ["ruoyi-admin", 1], ["ruoyi-ui", 1]]);
        first = identities(kubectl, NAMESPACE);
        assert.equal(Object.keys(first).length, 3 + 1 + 8 + 1, JSON.stringify(first));
        assert.match(first["PersistentVolumeClaim/data-mysql-0"]!, / on local-pv-\d+$/);
    });

    it("the volumes-and-externals fixture: two claims bind, the LoadBalancer gets an address, the node port is taken, emptyDir and ConfigMap volumes are accepted", function () {
        firstFeatures = identities(kubectl, FEATURES);
        assert.match(firstFeatures["PersistentVolumeClaim/data-store-0"]!, / on local-pv-\d+$/);
        assert.match(firstFeatures["PersistentVolumeClaim/backups-store-0"]!, / on local-pv-\d+$/);
        const service = (name: string) => JSON.parse(kubectl("get", "service", name, "-n", FEATURES, "-o", "json")) as { spec: { type: string; ports: { nodePort?: number }[] }; status: { loadBalancer: { ingress?: { ip: string }[] } } };
        assert.deepEqual(service("api-public").status.loadBalancer.ingress?.map((ingress) => ingress.ip), ["127.0.0.1"]);
        assert.deepEqual([service("store-public").spec.type, service("store-public").spec.ports[0]!.nodePort], ["NodePort", 30079]);
        assert.equal(service("api").spec.type, "ClusterIP");
        const pod = JSON.parse(kubectl("get", "pods", "-n", FEATURES, "-l", "app.kubernetes.io/name=api", "-o", "json")).items[0].spec as { volumes: { name: string; emptyDir?: unknown }[] };
        assert.deepEqual(
            pod.volumes.filter((volume) => ["cache", "scratch", "settings"].includes(volume.name)).map((volume) => volume.name),
            ["cache", "scratch", "settings"],
        );
    });

    it("RuoYi's MySQL password: one value in our two Secrets, referenced by the workloads, never in them, and a secret in the state", async function () {
        // The committed dev stack file's encrypted value, decrypted by the engine with the embedded passphrase.
        const secrets = JSON.parse(kubectl("get", "secrets", "mysql-secrets", "ruoyi-admin-secrets", "-n", NAMESPACE, "-o", "json")).items as { data: Record<string, string> }[];
        assert.deepEqual(secrets.map((secret) => Object.keys(secret.data)), [["mysqlRootPassword"], ["mysqlRootPassword"]]);
        const value = Buffer.from(secrets[0]!.data.mysqlRootPassword!, "base64").toString("utf8");
        assert.equal(Buffer.from(secrets[1]!.data.mysqlRootPassword!, "base64").toString("utf8"), value);
        assert.match(value, /^[A-Za-z0-9]{24}$/, "the committed value, not a placeholder");
        const workloads = kubectl("get", "deployments,statefulsets", "-n", NAMESPACE, "-o", "json");
        assert.equal(workloads.includes(value), false);
        const admin = (JSON.parse(workloads).items as any[]).find((item) => item.metadata.name === "ruoyi-admin").spec.template.spec.containers[0];
        assert.deepEqual(admin.env.find((entry: { name: string }) => entry.name === "SPRING_DATASOURCE_DRUID_MASTER_PASSWORD"), {
            name: "SPRING_DATASOURCE_DRUID_MASTER_PASSWORD",
            valueFrom: { secretKeyRef: { name: "ruoyi-admin-secrets", key: "mysqlRootPassword" } },
        });
        const mysql = (JSON.parse(workloads).items as any[]).find((item) => item.metadata.name === "mysql").spec.template.spec;
        assert.deepEqual(mysql.volumes.find((volume: { name: string }) => volume.name === "secret-files-0").secret.secretName, "mysql-secrets");
        // The state as the file backend keeps it (exportStack would decrypt it): the Secret's data is ciphertext, and the value is nowhere.
        const state = fs.readFileSync(path.join(scratch, "state", ".pulumi", "stacks", "pluggable-mesh", "cluster-it.json"), "utf8");
        for (const form of [value, Buffer.from(value).toString("base64")]) assert.equal(state.includes(form), false);
        const secret = (JSON.parse(state).checkpoint.latest.resources as any[]).find((resource) => resource.type === "kubernetes:core/v1:Secret" && resource.outputs?.metadata?.name === "mysql-secrets");
        for (const data of [secret.inputs.data, secret.outputs.data]) {
            assert.deepEqual(Object.keys(data), ["4dabf18193072939515e22adb298388d", "ciphertext"]);
            assert.equal(data["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
        }
        assert.equal(upOutput.includes(value), false);
        assert.ok(upOutput.length > 0);
    });

    it("Pod Security: the namespace enforces baseline (RuoYi's exempt images), the API server admitted RuoYi's pods under it and refuses a privileged one", function () {
        const labels = JSON.parse(kubectl("get", "namespace", NAMESPACE, "-o", "json")).metadata.labels as Record<string, string>;
        assert.deepEqual(
            Object.entries(labels).filter(([key]) => key.startsWith("pod-security.kubernetes.io/")),
            [
                ["pod-security.kubernetes.io/audit", "restricted"],
                ["pod-security.kubernetes.io/enforce", "baseline"],
                ["pod-security.kubernetes.io/warn", "restricted"],
            ],
        );
        // The pods of the first up were created under these labels (every workload became ready); a pod breaking baseline is refused.
        const probe = (securityContext: Record<string, unknown>) =>
            kubectlFor(cluster.kubeconfig)("run", "psa-probe", "-n", NAMESPACE, "--image=docker.io/library/busybox:1.37.0", "--dry-run=server", "-o", "name", `--overrides=${JSON.stringify({ spec: { containers: [{ name: "psa-probe", image: "docker.io/library/busybox:1.37.0", securityContext }] } })}`);
        assert.throws(() => probe({ privileged: true }), (error: { stderr?: string }) => /violates PodSecurity "baseline:latest": privileged/.test(error.stderr ?? ""));
        assert.equal(probe({ runAsUser: 0 }).trim(), "pod/psa-probe", "a root pod passes baseline (and is only warned about)");
    });

    for (const mode of ["envoy", "linkerd", "native"]) {
        it(`switching to ${mode} rolls the pods in place: every UID and bound volume stays`, async function () {
            const { stack, configFile, guard } = await stackIn(mode);
            await guard(() => stack.up({ configFile }));
            assert.deepEqual(identities(kubectl, NAMESPACE), first);
            assert.deepEqual(identities(kubectl, FEATURES), firstFeatures, "the fixture's claims, Services (the public ones too) and workloads stay");
            const template = JSON.parse(kubectl("get", "deployment", "ruoyi-admin", "-n", NAMESPACE, "-o", "json")).spec.template;
            assert.equal(template.metadata.annotations["pluggable-mesh.io/mode"], mode);
            // linkerd-init needs NET_ADMIN and NET_RAW, so linkerd's namespace is privileged; the others keep baseline.
            const enforced = JSON.parse(kubectl("get", "namespace", NAMESPACE, "-o", "json")).metadata.labels["pod-security.kubernetes.io/enforce"];
            assert.equal(enforced, mode === "linkerd" ? "privileged" : "baseline");
            assert.deepEqual((template.spec.initContainers ?? []).map((container: { name: string }) => container.name), mode === "envoy" ? ["envoy"] : []);
            assert.equal(template.metadata.annotations["linkerd.io/inject"], mode === "linkerd" ? "enabled" : undefined);
            const pods = JSON.parse(kubectl("get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=ruoyi-admin", "-o", "json")).items as { metadata: { annotations: Record<string, string> } }[];
            assert.ok(pods.length >= 1 && pods.every((pod) => pod.metadata.annotations["pluggable-mesh.io/mode"] === mode), "the rolled pods run the new mode");
            // Every NetworkPolicy we render was accepted by the API server (one per component and the namespace's default-deny).
            assert.deepEqual(kubectl("get", "networkpolicies", "-n", NAMESPACE, "-o", "name").trim().split("\n").sort(), ["default-deny.pluggable-mesh", "mysql", "redis", "ruoyi-admin", "ruoyi-ui"].map((name) => `networkpolicy.networking.k8s.io/${name}`));
            if (mode === "envoy") {
                const upstreams = envoyUpstreams();
                envoyCaller = { upstreams, pods: podSet(mode, upstreams.map((upstream) => upstream.service)) };
            }
            if (mode === "linkerd") linkerdCallees = podSet(mode, envoyCaller!.upstreams.map((upstream) => upstream.service));
            // The API server accepted linkerd mode's policy objects against Linkerd's CRDs; leaving the mode removes them.
            assert.deepEqual(linkerdPolicyObjects(), mode === "linkerd" ? LINKERD_POLICY_OBJECTS : []);
        });
    }

    function linkerdPolicyObjects(): string[] {
        const kinds = "servers.policy.linkerd.io,authorizationpolicies.policy.linkerd.io,meshtlsauthentications.policy.linkerd.io,networkauthentications.policy.linkerd.io";
        return kubectl("get", kinds, "-n", NAMESPACE, "-o", "name").split("\n").filter(Boolean).sort();
    }

    // RuoYi without its Ingress: no NetworkAuthentication, every caller is meshed.
    const LINKERD_POLICY_OBJECTS = [
        "authorizationpolicy.policy.linkerd.io/mysql.mysql.meshtls",
        "authorizationpolicy.policy.linkerd.io/redis.redis.meshtls",
        "authorizationpolicy.policy.linkerd.io/ruoyi-admin.http.meshtls",
        "meshtlsauthentication.policy.linkerd.io/mysql.mysql",
        "meshtlsauthentication.policy.linkerd.io/redis.redis",
        "meshtlsauthentication.policy.linkerd.io/ruoyi-admin.http",
        "server.policy.linkerd.io/mysql.mysql",
        "server.policy.linkerd.io/redis.redis",
        "server.policy.linkerd.io/ruoyi-admin.http",
        "server.policy.linkerd.io/ruoyi-ui.http",
    ];

    it("the API server holds Linkerd's CRDs to their rules: a GRPCRoute passes, a broken Server and a CEL violation do not", function () {
        const file = path.join(scratch, "linkerd-objects.json");
        const dryRun = (object: Record<string, unknown>) => {
            fs.writeFileSync(file, JSON.stringify(object));
            return kubectl("create", "--dry-run=server", "--validate=strict", "-f", file, "-o", "name").trim();
        };
        const grpcRoute = {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "GRPCRoute",
            metadata: { name: "api-grpc", namespace: "default", annotations: { "retry.linkerd.io/grpc": "unavailable,cancelled", "retry.linkerd.io/limit": "2" } },
            spec: { parentRefs: [{ group: "core", kind: "Service", name: "api", port: 9090 }], rules: [{ backendRefs: [{ name: "api", port: 9090 }] }] },
        };
        assert.equal(dryRun(grpcRoute), "grpcroute.gateway.networking.k8s.io/api-grpc");
        const server = { apiVersion: "policy.linkerd.io/v1beta3", kind: "Server", metadata: { name: "web.http", namespace: "default" } };
        assert.throws(() => dryRun({ ...server, spec: { podSelector: { matchLabels: { app: "web" } }, port: 8080, proxyProtocoll: "HTTP/1" } }), /unknown field "spec.proxyProtocoll"/);
        // A CEL rule of the Gateway API CRD, which the unit tests' JSON Schema cannot evaluate.
        assert.throws(() => dryRun({ ...grpcRoute, spec: { ...grpcRoute.spec, rules: [{ backendRefs: [{ name: "api" }] }] } }), /Must have port for Service reference/);
    });

    it("while a callee rolls from envoy to linkerd, the ports and endpoints an envoy caller's bootstrap names are served by the old and the new pods", function () {
        // Mid-roll, ruoyi-admin's old pods still run the envoy bootstrap read after the switch to envoy,
        // while mysql's and redis's pods are envoy pods, linkerd pods, or both.
        const { upstreams, pods: envoyCallees } = envoyCaller!;
        assert.deepEqual(upstreams, [
            { service: "mysql-headless", port: 3306 },
            { service: "redis-headless", port: 6379 },
        ]);
        for (const { service, port } of upstreams) {
            for (const set of [envoyCallees, linkerdCallees!]) {
                const seen = set.services[service]!;
                assert.ok(seen.podIps.length > 0, `${service}: ${set.mode} pods`);
                // The headless Service's DNS answers with these addresses: exactly the pods.
                assert.deepEqual(seen.sliceAddresses, seen.podIps, `${service}: EndpointSlices of the ${set.mode} pods`);
                assert.ok(seen.podPorts.includes(port), `${service}: the ${set.mode} pods declare ${port} (they declare ${seen.podPorts.join(", ")})`);
            }
        }
        // What a fixed sidecar port would have hit: the Service's named port resolves to envoy's sidecar in envoy pods, to the app elsewhere.
        assert.deepEqual(envoyCallees.services["redis-headless"]!.slicePorts, [15010]);
        assert.deepEqual(linkerdCallees!.services["redis-headless"]!.slicePorts, [6379]);
        assert.ok(!linkerdCallees!.services["redis-headless"]!.podPorts.includes(15010));
    });

    it("a bad config creates nothing in the cluster", async function () {
        const before = kubectl("get", "all,configmaps,secrets,serviceaccounts", "-A", "-o", "name").split("\n").sort();
        const { stack, configFile, guard } = await stackIn("consul");
        await assert.rejects(guard(() => stack.up({ configFile })), /"consul" is not a mode/);
        assert.deepEqual(kubectl("get", "all,configmaps,secrets,serviceaccounts", "-A", "-o", "name").split("\n").sort(), before);
    });

    it("destroy leaves no object of ours behind", async function () {
        const { stack, configFile, guard } = await stackIn("native");
        await guard(() => stack.destroy({ configFile }));
        assert.equal(kubectl("get", "namespace", NAMESPACE, "--ignore-not-found", "-o", "name").trim(), "");
        assert.equal(kubectl("get", "namespace", FEATURES, "--ignore-not-found", "-o", "name").trim(), "");
        assert.equal(kubectl("get", "all,configmaps,secrets", "-A", "-l", "app.kubernetes.io/managed-by=pluggable-mesh", "-o", "name").trim(), "");
    });
});
