import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startCluster, type Cluster } from "../../devcluster/cluster";
import { ensureTools, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../../engine/engine";
import { identities, kubectlFor, type Kubectl } from "../support/kubectl";
import { FEATURES_SPEC } from "../support/meshRuns";

/**
 * The real engine and provider against the embedded cluster (real API server, controllers and
 * kwok nodes): admission, defaulting, immutable fields on update and Pulumi's await logic, which
 * render mode cannot show. RuoYi is deployed without its Ingress: the embedded cluster has no
 * ingress controller, so an Ingress would never get an address and Pulumi would rightly wait.
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

    let first: Record<string, string> = {};
    let firstFeatures: Record<string, string> = {};

    it("up creates RuoYi and waits until its pods are Ready; the claim binds", async function () {
        const { stack, configFile, guard } = await stackIn("native");
        const result = await guard(() => stack.up({ configFile }));
        assert.equal(result.summary.result, "succeeded");
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

    for (const mode of ["envoy", "linkerd", "native"]) {
        it(`switching to ${mode} rolls the pods in place: every UID and bound volume stays`, async function () {
            const { stack, configFile, guard } = await stackIn(mode);
            await guard(() => stack.up({ configFile }));
            assert.deepEqual(identities(kubectl, NAMESPACE), first);
            assert.deepEqual(identities(kubectl, FEATURES), firstFeatures, "the fixture's claims, Services (the public ones too) and workloads stay");
            const template = JSON.parse(kubectl("get", "deployment", "ruoyi-admin", "-n", NAMESPACE, "-o", "json")).spec.template;
            assert.equal(template.metadata.annotations["pluggable-mesh.io/mode"], mode);
            assert.deepEqual((template.spec.initContainers ?? []).map((container: { name: string }) => container.name), mode === "envoy" ? ["envoy"] : []);
            assert.equal(template.metadata.annotations["linkerd.io/inject"], mode === "linkerd" ? "enabled" : undefined);
            const pods = JSON.parse(kubectl("get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=ruoyi-admin", "-o", "json")).items as { metadata: { annotations: Record<string, string> } }[];
            assert.ok(pods.length >= 1 && pods.every((pod) => pod.metadata.annotations["pluggable-mesh.io/mode"] === mode), "the rolled pods run the new mode");
        });
    }

    it("a bad config creates nothing in the cluster", async function () {
        const before = kubectl("get", "all,configmaps,serviceaccounts", "-A", "-o", "name").split("\n").sort();
        const { stack, configFile, guard } = await stackIn("consul");
        await assert.rejects(guard(() => stack.up({ configFile })), /"consul" is not a mode/);
        assert.deepEqual(kubectl("get", "all,configmaps,serviceaccounts", "-A", "-o", "name").split("\n").sort(), before);
    });

    it("destroy leaves no object of ours behind", async function () {
        const { stack, configFile, guard } = await stackIn("native");
        await guard(() => stack.destroy({ configFile }));
        assert.equal(kubectl("get", "namespace", NAMESPACE, "--ignore-not-found", "-o", "name").trim(), "");
        assert.equal(kubectl("get", "namespace", FEATURES, "--ignore-not-found", "-o", "name").trim(), "");
        assert.equal(kubectl("get", "all,configmaps", "-A", "-l", "app.kubernetes.io/managed-by=pluggable-mesh", "-o", "name").trim(), "");
    });
});
