import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startCluster, type Cluster } from "../../devcluster/cluster";
import { ensureTools, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../../engine/engine";
import { identities, kubectlFor, type Kubectl } from "../support/kubectl";

/**
 * The real engine and provider against the embedded cluster (real API server, controllers and
 * kwok nodes): admission, defaulting, immutable fields on update and Pulumi's await logic, which
 * render mode cannot show. RuoYi is deployed without its Ingress: the embedded cluster has no
 * ingress controller, so an Ingress would never get an address and Pulumi would rightly wait.
 */

const NAMESPACE = "ruoyi";

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
                "pluggable-mesh:apps": [{ spec }],
            },
        });
    }

    let first: Record<string, string> = {};

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

    for (const mode of ["envoy", "linkerd", "native"]) {
        it(`switching to ${mode} rolls the pods in place: every UID and bound volume stays`, async function () {
            const { stack, configFile, guard } = await stackIn(mode);
            await guard(() => stack.up({ configFile }));
            assert.deepEqual(identities(kubectl, NAMESPACE), first);
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
        assert.equal(kubectl("get", "all,configmaps", "-A", "-l", "app.kubernetes.io/managed-by=pluggable-mesh", "-o", "name").trim(), "");
    });
});
