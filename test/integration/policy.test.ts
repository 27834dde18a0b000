import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { LocalWorkspace, PulumiCommand, type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { engineEnvironment, ensureTools, LOCAL_PASSPHRASE, openStack, POLICY_PACK_DIR, PROJECT_ROOT, type Tools } from "../../engine/engine";
import { violationsFromEvents, type PolicyViolation } from "../../cli/prReport";

/**
 * The policy pack (policy/) in the real engine, through the analyzer plugin tools/tools.sh installs:
 * on a foreign program (plain @pulumi/kubernetes Deployments and an Istio custom resource, nothing
 * of ours), a mandatory violation stops `up` before anything is created and an advisory one only
 * warns; and every shipped stack passes it with its own policy config.
 */

const PROJECT = "foreign-shop";

/** A restricted, resourced pod of the foreign program; only the image varies. */
function podSpec(image: string): k8s.types.input.core.v1.PodSpec {
    return {
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
            {
                name: "app",
                image,
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
        ],
    };
}

function deployment(name: string, image: string, provider: k8s.Provider, podLabels: Record<string, string> = {}): k8s.apps.v1.Deployment {
    return new k8s.apps.v1.Deployment(
        name,
        {
            metadata: { name, namespace: "shop" },
            spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name, ...podLabels } }, spec: podSpec(image) } },
        },
        { provider },
    );
}

interface Run {
    events: EngineEvent[];
    output: string[];
}

describe("the policy pack in the real engine", function () {
    let tools: Tools;
    let scratch: string;
    let pulumiCommand: PulumiCommand;

    before(async function () {
        tools = ensureTools();
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-policy-"));
        pulumiCommand = await PulumiCommand.get({ root: path.dirname(tools.binDir), skipVersionCheck: true });
    });

    const renderDirs: string[] = [];
    after(function () {
        fs.rmSync(scratch, { recursive: true, force: true });
        for (const dir of renderDirs) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A stack of an inline program that is not ours, in its own file backend. */
    async function foreignStack(name: string, program: (renderDir: string) => void): Promise<{ stack: Stack; renderDir: string }> {
        const dir = path.join(scratch, name);
        const renderDir = path.join(dir, "rendered");
        fs.mkdirSync(dir, { recursive: true });
        const stack = await LocalWorkspace.createOrSelectStack(
            { projectName: PROJECT, stackName: name, program: async () => program(renderDir) },
            { workDir: dir, pulumiCommand, envVars: { ...engineEnvironment(tools, dir), PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE } },
        );
        return { stack, renderDir };
    }

    function policyConfig(name: string, config: Record<string, unknown>): string {
        const file = path.join(scratch, `${name}.json`);
        fs.writeFileSync(file, JSON.stringify(config));
        return file;
    }

    function collect(): Run & { onEvent: (event: EngineEvent) => void; onOutput: (line: string) => void } {
        const run: Run = { events: [], output: [] };
        return { ...run, onEvent: (event) => run.events.push(event), onOutput: (line) => run.output.push(line) };
    }

    const brief = (violations: PolicyViolation[]) => violations.map((violation) => `${violation.level} ${violation.policy} ${violation.resource}`).sort();

    it("checks a foreign program (plain Deployments, an Istio custom resource) and names every production finding", async function () {
        const { stack } = await foreignStack("foreign-preview", (renderDir) => {
            const provider = new k8s.Provider("render", { renderYamlToDirectory: renderDir });
            new k8s.core.v1.Namespace("shop", { metadata: { name: "shop", labels: { "istio-injection": "enabled" } } }, { provider });
            deployment("web", "docker.io/library/nginx:1.27.3", provider);
            deployment("worker", "docker.io/library/busybox:1.37.0", provider);
            new k8s.apiextensions.CustomResource(
                "shop-mtls",
                { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "shop", namespace: "shop" }, spec: { mtls: { mode: "DISABLE" } } },
                { provider },
            );
        });
        const production = policyConfig("production", { "production-mtls": "mandatory", "production-no-mtls-disable": "mandatory", "production-no-allow-all": "mandatory" });
        const run = collect();
        await assert.rejects(stack.preview({ policyPacks: [POLICY_PACK_DIR], policyPackConfigs: [production], onEvent: run.onEvent, onOutput: run.onOutput, color: "never" }));
        const violations = violationsFromEvents(run.events);
        assert.deepEqual(brief(violations), [
            "mandatory istio-control-plane Deployment shop/web",
            "mandatory istio-control-plane Deployment shop/worker",
            "mandatory production-mtls Deployment shop/web",
            "mandatory production-mtls Deployment shop/worker",
            "mandatory production-no-mtls-disable PeerAuthentication shop/shop",
        ]);
        assert.ok(
            violations.some((violation) => violation.message === "PeerAuthentication shop/shop sets mtls.mode DISABLE: traffic to its workloads is plaintext; use STRICT"),
            JSON.stringify(violations, null, 1),
        );
        assert.match(run.output.join(""), /pluggable-mesh@v0\.1\.0/);
    });

    it("a mandatory violation stops up with nothing created", async function () {
        const { stack, renderDir } = await foreignStack("foreign-mandatory", (dir) => {
            const provider = new k8s.Provider("render", { renderYamlToDirectory: dir });
            deployment("web", "docker.io/library/nginx", provider);
        });
        const run = collect();
        await assert.rejects(stack.up({ policyPacks: [POLICY_PACK_DIR], onEvent: run.onEvent, onOutput: run.onOutput, color: "never" }), (error: Error) => {
            assert.match(`${error.message}\n${run.output.join("")}`, /image-pinned/);
            return true;
        });
        // Stopped before its step: no pre-event names the object, so the finding names the Pulumi resource.
        assert.deepEqual(brief(violationsFromEvents(run.events)), ["mandatory image-pinned Deployment web"]);
        const state = await stack.exportStack();
        assert.deepEqual((state.deployment.resources ?? []).map((resource: { type: string }) => resource.type).filter((type: string) => !type.startsWith("pulumi:")), []);
        assert.equal(fs.existsSync(renderDir) ? fs.readdirSync(renderDir, { recursive: true }).filter((file) => String(file).endsWith(".yaml")).length : 0, 0, "nothing rendered");
    });

    it("an advisory violation only warns: up succeeds and creates the resources", async function () {
        const { stack, renderDir } = await foreignStack("foreign-advisory", (dir) => {
            const provider = new k8s.Provider("render", { renderYamlToDirectory: dir });
            deployment("web", "docker.io/library/nginx", provider);
        });
        const run = collect();
        const advisory = policyConfig("advisory", { "image-pinned": "advisory" });
        const result = await stack.up({ policyPacks: [POLICY_PACK_DIR], policyPackConfigs: [advisory], onEvent: run.onEvent, onOutput: run.onOutput, color: "never" });
        assert.equal(result.summary.result, "succeeded");
        // production-mtls is advisory unless a stack's config says otherwise.
        assert.deepEqual(brief(violationsFromEvents(run.events)), ["advisory image-pinned Deployment shop/web", "advisory production-mtls Deployment shop/web"]);
        assert.deepEqual(result.summary.resourceChanges, { create: 3 }, "stack, provider and the Deployment");
        assert.ok(fs.readdirSync(renderDir, { recursive: true }).some((file) => String(file).endsWith(".yaml")), "the Deployment was rendered");
    });

    describe("the shipped stacks pass it with their own policy config", function () {
        const expected: Record<string, string[]> = {
            dev: [],
            // Staging rehearses production: its envoy mode has no mTLS, which production would refuse.
            staging: [
                ...["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"].map((name) => `Deployment bookinfo/${name}`),
                "Deployment ruoyi/redis",
                "Deployment ruoyi/ruoyi-admin",
                "Deployment ruoyi/ruoyi-ui",
                "StatefulSet ruoyi/mysql",
            ].map((resource) => `advisory production-mtls ${resource}`),
            prod: [],
        };
        for (const name of Object.keys(expected)) {
            it(`${name}: preview passes, with exactly the expected warnings`, async function () {
                const stateDir = path.join(scratch, `stack-${name}`);
                // Config paths stay inside the project: render under out/ (git-ignored).
                const renderDir = path.join(PROJECT_ROOT, "out", `it-policy-${name}`);
                renderDirs.push(renderDir);
                const opened = await openStack(`it-policy-${name}`, tools, { stateDir, configFrom: name, overrides: { "pluggable-mesh:kubernetes": { renderYamlToDirectory: renderDir } } });
                assert.deepEqual(opened.policy.policyPackConfigs, [path.join(POLICY_PACK_DIR, "config", `${name}.json`)]);
                const run = collect();
                await opened.guard(() => opened.stack.preview({ configFile: opened.configFile, onEvent: run.onEvent, onOutput: run.onOutput, color: "never", ...opened.policy }));
                assert.deepEqual(brief(violationsFromEvents(run.events)), expected[name], run.output.join("").slice(-4000));
            });
        }
    });
});
