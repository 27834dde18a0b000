import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureTools, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../../engine/engine";

/**
 * The example fleet on the real engine (render mode, one file backend for both stacks): the
 * platform stack `fleet` up, then the app stack `fleet-ruoyi`, which reads fleet's `platform`
 * output through a real StackReference; its objects carry the injection labels fleet exported.
 * Then both are destroyed, the app stack first.
 */

/** Every object the provider wrote under `dir`. */
function renderedObjects(dir: string): { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any }[] {
    return fs
        .readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".yaml"))
        .flatMap((file) => parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8")).map((document) => document.toJSON()))
        .filter((object) => object?.kind);
}

describe("the example fleet through the real engine (render mode)", function () {
    let tools: Tools;
    let stateDir: string;
    let renderRoot: string;

    before(function () {
        tools = ensureTools();
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-fleet-"));
        // Config paths may not leave the project: the render folders are under out/.
        renderRoot = path.join(PROJECT_ROOT, "out", path.basename(stateDir));
    });

    after(function () {
        fs.rmSync(stateDir, { recursive: true, force: true });
        fs.rmSync(renderRoot, { recursive: true, force: true });
    });

    /** A stack of the set in the shared backend, rendering into its own folder. */
    function open(stack: string): Promise<EngineStack> {
        return openStack(stack, tools, { stateDir, policy: false, overrides: { "pluggable-mesh:kubernetes": { renderYamlToDirectory: path.join(renderRoot, stack) } } });
    }

    it("up fleet, up fleet-ruoyi reading it through a StackReference, destroy both", async function () {
        const platform = await open("fleet");
        const platformUp = await platform.guard(() => platform.stack.up({ configFile: platform.configFile }));
        assert.equal(platformUp.summary.result, "succeeded");
        const exported = platformUp.outputs.platform!.value as { schema: number; istio: { podInjectionLabels: Record<string, string>; namespaceInjectionLabels: Record<string, string> } };
        assert.equal(exported.schema, 1);
        assert.equal(platformUp.outputs.peers, undefined);

        const apps = await open("fleet-ruoyi");
        const appsUp = await apps.guard(() => apps.stack.up({ configFile: apps.configFile }));
        assert.equal(appsUp.summary.result, "succeeded");
        assert.deepEqual((appsUp.outputs.peers!.value as { apps: { spec: { name: string } }[] }).apps.map((app) => app.spec.name), ["ruoyi"]);
        const state = await apps.guard(() => apps.stack.exportStack());
        const types = (state.deployment.resources as { type: string }[]).map((resource) => resource.type);
        assert.equal(types.filter((type) => type === "pulumi:pulumi:StackReference").length, 1);
        assert.deepEqual(types.filter((type) => type.includes("helm") || type.includes("IstioControlPlane")), [], "the app stack installs nothing of the platform");

        // The app objects carry the injection labels the platform stack exported.
        const objects = renderedObjects(path.join(renderRoot, "fleet-ruoyi"));
        const namespace = objects.find((object) => object.kind === "Namespace" && object.metadata.name === "ruoyi")!;
        for (const [label, value] of Object.entries(exported.istio.namespaceInjectionLabels)) assert.equal(namespace.metadata.labels?.[label], value, label);
        const workloads = objects.filter((object) => object.kind === "Deployment" || object.kind === "StatefulSet");
        assert.equal(workloads.length, 4);
        for (const workload of workloads) {
            for (const [label, value] of Object.entries(exported.istio.podInjectionLabels)) assert.equal(workload.spec.template.metadata.labels[label], value, `${workload.metadata.name}: ${label}`);
        }

        const appsDown = await apps.guard(() => apps.stack.destroy({ configFile: apps.configFile }));
        assert.equal(appsDown.summary.result, "succeeded");
        const platformDown = await platform.guard(() => platform.stack.destroy({ configFile: platform.configFile }));
        assert.equal(platformDown.summary.result, "succeeded");
    });
});
