import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startCluster, type Cluster } from "../../devcluster/cluster";
import { ensureTools, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../../engine/engine";
import { UserError } from "../../engine/errors";
import { deploy, destroyDeployment, previewDeploy, verifyDeployed } from "../../engine/lifecycle";
import { kubectlFor } from "../support/kubectl";

/**
 * Issue #11, class 10: a state that no longer matches its cluster. The embedded cluster is
 * stopped (which discards its objects) and started again, as `npm run cluster:stop` and a later
 * `npm start` do; the engine's lifecycle (engine/lifecycle.ts, what `npm start`, `up`, `preview`
 * and `destroy` run) must end with the objects really in the cluster, catch objects deleted out of
 * band, and destroy a stack whose cluster is gone.
 */

const NAMESPACE = "ruoyi";
const WORKLOADS = [["Deployment", "redis"], ["Deployment", "ruoyi-admin"], ["Deployment", "ruoyi-ui"], ["StatefulSet", "mysql"]];

describe("a state that outlives its cluster (embedded cluster)", function () {
    let tools: Tools;
    let scratch: string;
    let clusterDir: string;
    let cluster: Cluster | undefined;
    let spec: string;
    const messages: string[] = [];
    const log = (message: string) => messages.push(message);

    before(async function () {
        tools = ensureTools();
        fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
        // Inside the project: config paths (the kubeconfig, the spec) may not leave it.
        scratch = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", "it-stale-"));
        clusterDir = path.join(scratch, "cluster");
        cluster = await startCluster({ dir: clusterDir });
        // No ingress controller in the embedded cluster: RuoYi without its Ingress, as clusterEngine.test.ts does.
        spec = path.join(PROJECT_ROOT, "out", "it-stale", "ruoyi.yaml");
        const ruoyi = fs.readFileSync(path.join(PROJECT_ROOT, "stacks", "apps", "ruoyi.yaml"), "utf8");
        fs.mkdirSync(path.dirname(spec), { recursive: true });
        fs.writeFileSync(spec, ruoyi.replace(/^\s+expose: .*\n/m, ""));
    });

    after(async function () {
        await cluster?.stop();
        fs.rmSync(scratch, { recursive: true, force: true });
        fs.rmSync(path.dirname(spec), { recursive: true, force: true });
    });

    const kubectl = (...args: string[]) => kubectlFor(path.join(clusterDir, "kubeconfig"))(...args);
    const workloads = () =>
        (JSON.parse(kubectl("get", "deployments,statefulsets", "-n", NAMESPACE, "-o", "json")) as { items: { kind: string; metadata: { name: string } }[] }).items
            .map((item) => [item.kind, item.metadata.name])
            .sort();

    function open(): Promise<EngineStack> {
        return openStack("it-stale", tools, {
            stateDir: path.join(scratch, "state"),
            configFrom: "dev",
            policy: false,
            overrides: {
                "pluggable-mesh:kubernetes": { kubeconfig: path.join(clusterDir, "kubeconfig") },
                "pluggable-mesh:ingressController": false,
                "pluggable-mesh:apps": [{ spec: path.relative(PROJECT_ROOT, spec) }],
            },
        });
    }

    async function restartCluster(): Promise<void> {
        await cluster!.stop();
        cluster = undefined;
        cluster = await startCluster({ dir: clusterDir });
    }

    it("after the cluster is stopped and started again, up creates every object again", async function () {
        const first = await open();
        assert.equal(first.target.kind, "embedded");
        await deploy(first, { log });
        assert.deepEqual(workloads(), WORKLOADS);

        await restartCluster();
        assert.equal(kubectl("get", "namespace", NAMESPACE, "--ignore-not-found", "-o", "name").trim(), "", "the new cluster is empty");
        messages.length = 0;
        const second = await open();
        const result = await deploy(second, { log });
        assert.equal(messages.length, 2, messages.join("\n"));
        assert.equal(
            messages[0],
            "stack it-stale: the embedded cluster is a new one since the last deployment (npm run cluster:stop discards a cluster's objects); the refresh drops the old objects from the state and up creates them again",
        );
        assert.match(messages[1]!, /^stack it-stale: all \d+ objects the state lists were read back from the cluster$/);
        assert.ok((result.summary.resourceChanges?.create ?? 0) > 0, JSON.stringify(result.summary.resourceChanges));
        assert.deepEqual(workloads(), WORKLOADS);

        // What the refresh before every up costs on this stack (reported in docs/engine.md).
        const started = Date.now();
        const refresh = await second.guard(() => second.stack.refresh({ configFile: second.configFile }));
        console.log(`      (refresh: ${JSON.stringify(refresh.summary.resourceChanges)} in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    });

    it("an object deleted out of band is caught by the check that runs after up", async function () {
        const opened = await open();
        kubectl("delete", "deployment", "redis", "-n", NAMESPACE, "--wait=true");
        await assert.rejects(verifyDeployed(opened, log), (error: unknown) => {
            assert.ok(error instanceof UserError);
            assert.match(error.message, /^stack it-stale: 1 object the state lists is not in the cluster: Deployment ruoyi\/redis\b/);
            return true;
        });
    });

    it("with the cluster stopped, up and preview say so; destroy forgets the objects that went with it", async function () {
        await cluster!.stop();
        cluster = undefined;
        const opened = await open();
        const notRunning = `stack it-stale was deployed to the embedded cluster, which is not running (npm run cluster:stop ends it and discards its objects). \`npm start\` starts a new one and deploys the stack again; \`npm run destroy -- --stack it-stale\` forgets the old deployment.`;
        await assert.rejects(deploy(opened, { log }), { name: "UserError", message: notRunning });
        await assert.rejects(previewDeploy(opened, { log }), { name: "UserError", message: notRunning });
        messages.length = 0;
        await destroyDeployment(opened, { log });
        assert.equal(messages.length, 1);
        assert.match(messages[0]!, /^stack it-stale: its embedded cluster is gone \(stopped\), and its \d+ objects with it; removed them from the state$/);
        const state = await opened.guard(() => opened.stack.exportStack());
        assert.deepEqual(state.deployment.resources ?? [], []);
    });
});
