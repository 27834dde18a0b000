import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { MODE_NAMES, type ModeName } from "../../components/model";
import { renderConfig } from "../../cli/render";
import { ensureTools, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../../engine/engine";
import { readStackConfig } from "../../engine/stackFile";
import { runWithMocks } from "../../mocks/mockEngine";
import { pluggableMesh } from "../../stacks/program";

/**
 * The real Pulumi engine and Kubernetes provider (built by tools/tools.sh), driven through the
 * Automation API, in render mode (no cluster). Assertions read the engine's events, never its text.
 */

/** Kinds whose replacement or deletion would lose data or cut traffic. */
const PROTECTED_TYPES = new Set([
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:PersistentVolumeClaim",
]);

interface Step {
    op: string;
    urn: string;
    type: string;
}

function collector(): { steps: Step[]; onEvent: (event: EngineEvent) => void } {
    const steps: Step[] = [];
    return {
        steps,
        onEvent: (event) => {
            const metadata = event.resourcePreEvent?.metadata;
            if (metadata) steps.push({ op: metadata.op, urn: metadata.urn, type: metadata.type });
        },
    };
}

describe("the real engine (render mode)", function () {
    let tools: Tools;
    let stateRoot: string;

    before(function () {
        tools = ensureTools();
        stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-engine-"));
    });

    after(function () {
        fs.rmSync(stateRoot, { recursive: true, force: true });
        fs.rmSync(path.join(PROJECT_ROOT, "out", path.basename(stateRoot)), { recursive: true, force: true });
        // Scratch stacks must not leave stack files in the project.
        assert.deepEqual(fs.readdirSync(PROJECT_ROOT).filter((file) => /^Pulumi\.it-.*\.yaml$/.test(file)), []);
    });

    /** A stack in its own backend and render directory, so every test starts from a clean state. */
    async function scratchStack(name: string, configFrom: string, overrides: Record<string, unknown> = {}): Promise<EngineStack & { renderDir: string }> {
        const stateDir = path.join(stateRoot, name);
        // Config paths may not leave the project (issue #11): the render folder is under out/.
        const renderDir = path.join(PROJECT_ROOT, "out", path.basename(stateRoot), name, "rendered");
        const opened = await openStack(name, tools, {
            stateDir,
            configFrom,
            overrides: { "pluggable-mesh:kubernetes": { renderYamlToDirectory: renderDir }, ...overrides },
        });
        return { ...opened, renderDir };
    }

    /**
     * The mock engine records the engine's URNs, parents and dependencies (render's index.json is
     * the engine's view): checked on the deployed prod stack, so it costs no up of its own.
     */
    async function assertMocksMatchEngine(stackName: string, stack: EngineStack["stack"], configFile: string, guard: EngineStack["guard"]): Promise<void> {
        const state = await guard(() => stack.exportStack());
        type StateResource = { urn: string; type: string; parent?: string; dependencies?: string[] };
        const engine = new Map((state.deployment.resources as StateResource[]).map((resource) => [resource.urn, resource]));
        // The same program and config under the mock engine, with the stack's name.
        const config = readStackConfig(stackName, path.dirname(configFile));
        const mock = (await renderConfig(stackName, config)).index;
        const { resources } = await runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack: stackName, config });

        assert.ok(mock.length > 50, `${mock.length} resources`);
        assert.deepEqual(mock.filter((entry) => !engine.has(entry.urn)).map((entry) => entry.urn), [], "every mock URN is the engine's");
        // What the engine has beyond the program's registrations: the root stack, default providers, and the charts' children (the provider renders them).
        const extra = [...engine.values()].filter((resource) => !mock.some((entry) => entry.urn === resource.urn));
        assert.deepEqual(
            extra.filter((resource) => resource.type !== "pulumi:pulumi:Stack" && !resource.type.startsWith("pulumi:providers:") && !resource.urn.includes("kubernetes:helm.sh/v4:Chart$")).map((resource) => resource.urn),
            [],
        );
        assert.ok(extra.some((resource) => resource.urn.includes("kubernetes:helm.sh/v4:Chart$")), "the charts' children exist in the engine's state");
        for (const entry of mock) assert.equal(entry.parent, engine.get(entry.urn)!.parent, `${entry.urn} parent`);
        for (const resource of resources) {
            const real = engine.get(resource.urn)!;
            assert.deepEqual([...resource.dependencies].sort(), [...(real.dependencies ?? [])].sort(), `${resource.urn} dependencies`);
        }
    }

    for (const stackName of ["dev", "staging", "prod"]) {
        const andMocks = stackName === "prod" ? "; the mock engine's URNs, parents and dependencies are the engine's" : "";
        it(`${stackName}: up creates everything, a second up changes nothing, destroy removes it all${andMocks}`, async function () {
            const name = `it-${stackName}`;
            const { stack, configFile, renderDir, guard } = await scratchStack(name, stackName);
            if (process.env.PULUMI_BACKEND_URL === undefined && process.env.PULUMI_SKIP_CHECKPOINTS === undefined) {
                // The embedded default in render mode writes the state once per operation (docs/engine.md, "Checkpoints").
                assert.equal(stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS, "true");
            }
            const first = collector();
            const up = await guard(() => stack.up({ configFile, onEvent: first.onEvent }));
            assert.equal(up.summary.result, "succeeded");
            const creates = first.steps.filter((step) => step.op === "create");
            assert.ok(creates.some((step) => step.type === "kubernetes:apps/v1:StatefulSet"), "the MySQL StatefulSet is created");
            assert.deepEqual(first.steps.filter((step) => step.op !== "create" && step.op !== "same").map((step) => `${step.op} ${step.urn}`), []);
            assert.ok(fs.readdirSync(renderDir).length > 0, "the provider rendered manifests");

            const second = collector();
            const again = await guard(() => stack.up({ configFile, onEvent: second.onEvent }));
            assert.deepEqual(second.steps.filter((step) => step.op !== "same").map((step) => `${step.op} ${step.urn}`), [], "no perpetual diff");
            assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"]);
            if (andMocks) await assertMocksMatchEngine(name, stack, configFile, guard);

            await guard(() => stack.destroy({ configFile }));
            const state = await guard(() => stack.exportStack());
            assert.deepEqual(state.deployment.resources ?? [], []);
        });
    }

    describe("switching mode is an in-place update", function () {
        // The apps' workloads are what a switch may not replace: the control plane is declared
        // "existing" and observability left out, so each of the 4 ups and 12 previews registers only
        // the apps (the charts are covered by the stack tests above and clusterIstio.test.ts).
        const base = {
            "pluggable-mesh:istio": { controlPlane: "existing", gateway: { enabled: true } },
            "pluggable-mesh:observability": { enabled: false },
            "pluggable-mesh:linkerd": { controlPlane: "existing" },
            "pluggable-mesh:mtls": "PERMISSIVE",
        };
        for (const from of MODE_NAMES) {
            it(`from ${from} to every other mode: Deployments, StatefulSets and Services only stay or update`, async function () {
                const name = `it-switch-${from}`;
                const { stack, configFile, guard } = await scratchStack(name, "prod", { ...base, "pluggable-mesh:mode": from });
                await guard(() => stack.up({ configFile }));
                for (const to of MODE_NAMES.filter((mode): mode is ModeName => mode !== from)) {
                    const switched = await scratchStack(name, "prod", { ...base, "pluggable-mesh:mode": to });
                    const events = collector();
                    await switched.guard(() => switched.stack.preview({ configFile: switched.configFile, onEvent: events.onEvent }));
                    const protectedSteps = events.steps.filter((step) => PROTECTED_TYPES.has(step.type));
                    assert.ok(protectedSteps.some((step) => step.op === "update"), `${from} → ${to}: pod templates change`);
                    assert.deepEqual(
                        protectedSteps.filter((step) => step.op !== "same" && step.op !== "update").map((step) => `${step.op} ${step.urn}`),
                        [],
                        `${from} → ${to}`,
                    );
                }
            });
        }
    });

    it("a bad stack config fails preview and up with our message, and the state holds none of our resources", async function () {
        const { stack, configFile, guard } = await scratchStack("it-bad", "dev", { "pluggable-mesh:mode": "consul" });
        for (const operation of ["preview", "up"] as const) {
            const output: string[] = [];
            const onOutput = (line: string) => output.push(line);
            const run = guard<unknown>(() => (operation === "preview" ? stack.preview({ configFile, onOutput }) : stack.up({ configFile, onOutput })));
            await assert.rejects(run, (error: Error) => {
                const text = `${error.message}\n${output.join("")}`;
                assert.match(text, /pluggable-mesh:mode: "consul" is not a mode; use one of native, envoy, istio, linkerd/);
                assert.doesNotMatch(text, /\n\s+at .+\.(ts|js):\d+:\d+/, "no stack trace");
                return true;
            });
        }
        const state = await guard(() => stack.exportStack());
        const ours = (state.deployment.resources ?? []).filter((resource: { type: string }) => !resource.type.startsWith("pulumi:"));
        assert.deepEqual(ours, []);
    });
});
