/**
 * The pure half of pr-preview (cli/prReport.ts), fast: which stacks a change affects, changes and
 * policy findings from engine events, the Markdown report and the exit code. The real engine and
 * git run in test/integration/prPreview.test.ts.
 */
import assert from "node:assert/strict";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import {
    affectedStacks,
    changesFromEvents,
    configErrorOf,
    exitCodeOf,
    previewOrder,
    renderReport,
    stacksAt,
    verdictOf,
    violationsFromEvents,
    type ResourceChange,
    type StackFiles,
    type StackReport,
} from "../cli/prReport";

const URN = (type: string, name: string) => `urn:pulumi:dev::pluggable-mesh::pluggable-mesh:app:GovernedApp$${type}::${name}`;

function pre(op: string, type: string, name: string, extra: { namespace?: string; diffs?: string[]; detailedDiff?: Record<string, unknown>; old?: boolean } = {}): EngineEvent {
    const inputs = { metadata: { name, ...(extra.namespace ? { namespace: extra.namespace } : {}) } };
    return {
        sequence: 0,
        timestamp: 0,
        resourcePreEvent: {
            metadata: {
                op,
                urn: URN(type, `ruoyi-${name}`),
                type,
                provider: "",
                ...(extra.old ? { old: { inputs } } : { new: { inputs } }),
                ...(extra.diffs ? { diffs: extra.diffs } : {}),
                ...(extra.detailedDiff ? { detailedDiff: extra.detailedDiff } : {}),
            },
        },
    } as unknown as EngineEvent;
}

function policyEvent(policyName: string, enforcementLevel: "mandatory" | "warning", message: string, resourceUrn?: string): EngineEvent {
    return {
        sequence: 0,
        timestamp: 0,
        policyEvent: { policyName, enforcementLevel, message, color: "never", policyPackName: "pluggable-mesh", policyPackVersion: "0.1.0", policyPackVersionTag: "v0.1.0", ...(resourceUrn ? { resourceUrn } : {}) },
    } as unknown as EngineEvent;
}

const STATEFULSET = "kubernetes:apps/v1:StatefulSet";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

function stackReport(stack: string, extra: Partial<StackReport> = {}): StackReport {
    return { stack, reason: "the program changed (components/app/render.ts)", how: "self-contained", changes: [], counts: {}, diffText: "  ~ kubernetes:apps/v1:Deployment ruoyi-ui update", ...extra };
}

describe("pr-preview report (pure)", function () {
    describe("affected stacks", function () {
        const files = (specs: string[]): StackFiles => ({ specs });
        const head = new Map([
            ["dev", files(["stacks/apps/ruoyi.yaml"])],
            ["prod", files(["stacks/apps/ruoyi.yaml", "stacks/apps/shop.yaml"])],
        ]);
        const base = new Map([["dev", files(["stacks/apps/ruoyi.yaml"])], ["old", files([])]]);

        it("the program, the schema and the policy pack affect every stack, at the head or the base", function () {
            for (const file of ["components/app/render.ts", "stacks/config.ts", "package-lock.json", "policy/rules.ts", "policy/package.json"]) {
                assert.deepEqual(
                    affectedStacks([file], head, base).map((target) => target.stack),
                    ["dev", "old", "prod"],
                    file,
                );
            }
            assert.equal(affectedStacks(["policy/rules.ts", "Pulumi.yaml", "index.ts", "tsconfig.json"], head, base)[0]!.reason, "the program changed (policy/rules.ts, Pulumi.yaml, index.ts, ...)");
        });
        it("a stack file, a policy config or an app spec affects only the stacks that use it", function () {
            assert.deepEqual(affectedStacks(["Pulumi.prod.yaml"], head, base), [{ stack: "prod", reason: "Pulumi.prod.yaml changed" }]);
            assert.deepEqual(affectedStacks(["policy/config/dev.json"], head, base), [{ stack: "dev", reason: "policy/config/dev.json changed" }]);
            assert.deepEqual(affectedStacks(["stacks/apps/shop.yaml"], head, base), [{ stack: "prod", reason: "app spec stacks/apps/shop.yaml changed" }]);
            assert.deepEqual(affectedStacks(["README.md", "docs/policy.md", "stacks/apps/other.yaml"], head, base), []);
        });
        describe("in a set of stacks", function () {
            // fleet (platform); ruoyi and bookinfo read each other's peers; shop stands alone; dev is a single stack.
            const set = new Map<string, StackFiles>([
                ["dev", files(["stacks/apps/ruoyi.yaml"])],
                ["fleet", files([])],
                ["fleet-bookinfo", { specs: ["apps/bookinfo.yaml"], platformStack: "fleet", peerStacks: ["fleet-ruoyi"] }],
                ["fleet-ruoyi", { specs: ["apps/ruoyi.yaml"], platformStack: "fleet", peerStacks: ["fleet-bookinfo"] }],
                ["fleet-shop", { specs: ["apps/shop.yaml"], platformStack: "fleet" }],
            ]);

            it("a platform stack's file affects the platform and every app stack naming it, platform first", function () {
                assert.deepEqual(affectedStacks(["Pulumi.fleet.yaml"], set, set), [
                    { stack: "fleet", reason: "Pulumi.fleet.yaml changed" },
                    { stack: "fleet-bookinfo", reason: "its platform stack's file Pulumi.fleet.yaml changed" },
                    { stack: "fleet-ruoyi", reason: "its platform stack's file Pulumi.fleet.yaml changed" },
                    { stack: "fleet-shop", reason: "its platform stack's file Pulumi.fleet.yaml changed" },
                ]);
            });

            it("an app stack's file or app spec affects it and the stacks reading its peers, nothing else", function () {
                assert.deepEqual(affectedStacks(["apps/ruoyi.yaml"], set, set), [
                    { stack: "fleet-bookinfo", reason: "it reads the peers of fleet-ruoyi, which this change affects (app spec apps/ruoyi.yaml changed)" },
                    { stack: "fleet-ruoyi", reason: "app spec apps/ruoyi.yaml changed" },
                ]);
                assert.deepEqual(affectedStacks(["Pulumi.fleet-shop.yaml"], set, set), [{ stack: "fleet-shop", reason: "Pulumi.fleet-shop.yaml changed" }]);
                assert.deepEqual(affectedStacks(["Pulumi.fleet-bookinfo.yaml"], set, set), [
                    { stack: "fleet-bookinfo", reason: "Pulumi.fleet-bookinfo.yaml changed" },
                    { stack: "fleet-ruoyi", reason: "it reads the peers of fleet-bookinfo, which this change affects (Pulumi.fleet-bookinfo.yaml changed)" },
                ]);
            });

            it("a policy config changes no output: it affects its stack alone (negative control)", function () {
                assert.deepEqual(affectedStacks(["policy/config/fleet-ruoyi.json"], set, set), [{ stack: "fleet-ruoyi", reason: "policy/config/fleet-ruoyi.json changed" }]);
                assert.deepEqual(affectedStacks(["policy/config/fleet.json"], set, set), [{ stack: "fleet", reason: "policy/config/fleet.json changed" }]);
            });

            it("a stack that joins or leaves the set counts at the head and at the base", function () {
                const before = new Map([...set].filter(([name]) => name !== "fleet-shop"));
                assert.deepEqual(affectedStacks(["Pulumi.fleet.yaml"], before, set).map((target) => target.stack), ["fleet", "fleet-bookinfo", "fleet-ruoyi", "fleet-shop"]);
                assert.deepEqual(affectedStacks(["Pulumi.fleet.yaml"], set, before).map((target) => target.stack), ["fleet", "fleet-bookinfo", "fleet-ruoyi", "fleet-shop"]);
            });

            it("previews run after the stacks they read: platform first, a callee before its caller, needed stacks added", function () {
                const needs: Record<string, string[]> = { "fleet-ruoyi": ["fleet", "fleet-bookinfo"], "fleet-bookinfo": ["fleet"], "fleet-shop": ["fleet"] };
                assert.deepEqual(previewOrder(["fleet-ruoyi"], (stack) => needs[stack] ?? []), ["fleet", "fleet-bookinfo", "fleet-ruoyi"]);
                assert.deepEqual(previewOrder(["fleet-shop", "fleet-ruoyi", "dev"], (stack) => needs[stack] ?? []), ["fleet", "fleet-shop", "fleet-bookinfo", "fleet-ruoyi", "dev"]);
                assert.deepEqual(previewOrder(["dev", "staging"], () => []), ["dev", "staging"]);
            });

            it("reads platformStack and peerStacks from the stack files", function () {
                const texts: Record<string, string> = {
                    "Pulumi.fleet-ruoyi.yaml": "config:\n  pluggable-mesh:platformStack: fleet\n  pluggable-mesh:peerStacks: [fleet-bookinfo, 3]\n  pluggable-mesh:apps:\n    - spec: apps/ruoyi.yaml\n",
                    "Pulumi.odd.yaml": "config:\n  pluggable-mesh:platformStack: [fleet]\n  pluggable-mesh:peerStacks: fleet-ruoyi\n",
                };
                assert.deepEqual([...stacksAt(Object.keys(texts), (file) => texts[file]).entries()], [
                    ["fleet-ruoyi", { specs: ["apps/ruoyi.yaml"], platformStack: "fleet", peerStacks: ["fleet-bookinfo"] }],
                    ["odd", { specs: [] }],
                ]);
            });
        });

        it("reads the specs each stack file lists, normalized", function () {
            const texts: Record<string, string> = {
                "Pulumi.dev.yaml": "config:\n  pluggable-mesh:apps:\n    - spec: ./stacks/apps/ruoyi.yaml\n    - spec: stacks/apps/../apps/shop.yaml\n",
                "Pulumi.empty.yaml": "config: {}\n",
            };
            assert.deepEqual([...stacksAt(["README.md", ...Object.keys(texts)], (file) => texts[file]).entries()], [
                ["dev", { specs: ["stacks/apps/ruoyi.yaml", "stacks/apps/shop.yaml"] }],
                ["empty", { specs: [] }],
            ]);
        });
    });

    describe("changes from engine events", function () {
        it("one change per resource: the strongest step of a replacement, its fields merged, blocking for data kinds", function () {
            const events = [
                pre("create-replacement", STATEFULSET, "mysql", { namespace: "ruoyi", diffs: ["spec"], detailedDiff: { "spec.volumeClaimTemplates[0].spec.resources": {} } }),
                pre("replace", STATEFULSET, "mysql", { namespace: "ruoyi", diffs: ["spec"] }),
                pre("delete-replaced", STATEFULSET, "mysql", { namespace: "ruoyi", old: true }),
                pre("update", DEPLOYMENT, "ruoyi-ui", { namespace: "ruoyi", detailedDiff: { "spec.template.metadata.annotations": {} } }),
                pre("same", "pulumi:pulumi:Stack", "stack"),
                pre("create", "pulumi:providers:kubernetes", "k8s"),
            ];
            const expected: ResourceChange[] = [
                { op: "replace", type: STATEFULSET, kind: "StatefulSet", name: "ruoyi/mysql", urn: URN(STATEFULSET, "ruoyi-mysql"), fields: ["spec", "spec.volumeClaimTemplates[0].spec.resources"], blocking: true },
                { op: "update", type: DEPLOYMENT, kind: "Deployment", name: "ruoyi/ruoyi-ui", urn: URN(DEPLOYMENT, "ruoyi-ruoyi-ui"), fields: ["spec.template.metadata.annotations"], blocking: false },
            ];
            assert.deepEqual(changesFromEvents(events), expected);
        });
        it("a Deployment replaced is shown but does not block; a Service deleted blocks", function () {
            const changes = changesFromEvents([pre("replace", DEPLOYMENT, "ui"), pre("delete", "kubernetes:core/v1:Service", "ui", { old: true })]);
            assert.deepEqual(changes.map((change) => [change.kind, change.op, change.blocking]), [["Deployment", "replace", false], ["Service", "delete", true]]);
        });
    });

    describe("policy findings from engine events", function () {
        it("drops the engine's description line and color codes, names the resource by kind and namespace/name, keeps stack-level findings", function () {
            const mysql = URN(STATEFULSET, "ruoyi-mysql");
            const events = [
                pre("create", STATEFULSET, "mysql", { namespace: "ruoyi" }),
                policyEvent("image-pinned", "mandatory", "<{%reset%}>Every container image is pinned: a tag other than latest, or a digest.\nStatefulSet ruoyi/mysql: container \"mysql\" image \"mysql\" has no tag (it means latest); pin a tag other than latest or a digest\n", mysql),
                policyEvent("production-mtls", "warning", "Every workload runs in a mesh with mTLS.\nDeployment ruoyi/redis is in no mesh with mTLS", URN(DEPLOYMENT, "ruoyi-redis")),
                policyEvent("istio-control-plane", "mandatory", "a finding without a description line"),
            ];
            assert.deepEqual(violationsFromEvents(events), [
                { policy: "image-pinned", level: "mandatory", resource: "StatefulSet ruoyi/mysql", message: 'StatefulSet ruoyi/mysql: container "mysql" image "mysql" has no tag (it means latest); pin a tag other than latest or a digest' },
                { policy: "production-mtls", level: "advisory", resource: "Deployment ruoyi-redis", message: "Deployment ruoyi/redis is in no mesh with mTLS" },
                { policy: "istio-control-plane", level: "mandatory", resource: "(stack)", message: "a finding without a description line" },
            ]);
        });
    });

    it("configErrorOf keeps our ConfigError block and only it", function () {
        const text = "Updating (dev):\nerror: invalid configuration (2 problems):\n  pluggable-mesh:mode: \"consul\" is not a mode\n  stacks/apps/x.yaml: components[0].image: required\n\nResources:\n    1 unchanged\n";
        assert.equal(configErrorOf(text), 'invalid configuration (2 problems):\n  pluggable-mesh:mode: "consul" is not a mode\n  stacks/apps/x.yaml: components[0].image: required');
        assert.equal(configErrorOf("a\nb\nengine failed"), "a\nb\nengine failed");
    });

    describe("the Markdown report and the exit code", function () {
        const mysqlReplaced: ResourceChange = { op: "replace", type: STATEFULSET, kind: "StatefulSet", name: "ruoyi/mysql", urn: "u1", fields: ["spec.volumeClaimTemplates"], blocking: true };
        const uiUpdated: ResourceChange = { op: "update", type: DEPLOYMENT, kind: "Deployment", name: "ruoyi/ruoyi-ui", urn: "u2", fields: ["spec.template"], blocking: false };
        const mandatory = { policy: "image-pinned", level: "mandatory" as const, resource: "Deployment ruoyi/ruoyi-ui", message: "Deployment ruoyi/ruoyi-ui: container | \"ui\" image \"nginx\" has no tag" };
        const advisory = { policy: "production-mtls", level: "advisory" as const, resource: "Deployment ruoyi/redis", message: "Deployment ruoyi/redis is in no mesh with mTLS" };

        it("says when no stack is affected, and exits 0", function () {
            assert.equal(renderReport("main", [], false), "## Pulumi preview against `main`\n\nNo stack is affected by this change (nothing deployable changed).\n");
            assert.equal(exitCodeOf(verdictOf([]), false), 0);
        });

        it("lists mandatory violations at the top and each stack's findings above its changes and diff", function () {
            const reports = [
                stackReport("dev", { changes: [uiUpdated], counts: { update: 1 }, violations: [advisory, mandatory] }),
                stackReport("prod", { changes: [uiUpdated], counts: { update: 1 }, violations: [] }),
                stackReport("staging", { changes: [uiUpdated], counts: { update: 1 } }),
            ];
            const markdown = renderReport("main", reports, false);
            const top = markdown.indexOf("### ⛔ Policy: 1 mandatory violation(s)");
            const dev = markdown.indexOf("### Stack `dev`");
            assert.ok(top > 0 && top < dev, markdown);
            assert.ok(markdown.includes('| dev | image-pinned | Deployment ruoyi/ruoyi-ui | Deployment ruoyi/ruoyi-ui: container \\| "ui" image "nginx" has no tag |'), markdown);
            assert.ok(markdown.includes("A label cannot waive a mandatory policy"));
            const devSection = markdown.slice(dev, markdown.indexOf("### Stack `prod`"));
            const findings = devSection.indexOf("Policy pack: ⛔ 1 mandatory, 1 advisory");
            assert.ok(findings > 0 && findings < devSection.indexOf("Operations:") && findings < devSection.indexOf("<details>"), devSection);
            assert.ok(devSection.indexOf("| **mandatory** | image-pinned |") < devSection.indexOf("| advisory | production-mtls | Deployment ruoyi/redis | Deployment ruoyi/redis is in no mesh with mTLS |"), devSection);
            assert.match(markdown, /### Stack `prod`\n\n[^\n]+\n\nPolicy pack: ✅ no violations\.\n/);
            assert.doesNotMatch(markdown.slice(markdown.indexOf("### Stack `staging`")), /Policy pack/, "no line when the pack did not run");
        });

        it("exits 1 on a mandatory violation even when blocking changes are allowed; advisory findings alone exit 0", function () {
            const withMandatory = verdictOf([stackReport("dev", { violations: [advisory, mandatory] })]);
            assert.deepEqual(withMandatory, { blocking: 0, failed: 0, mandatory: 1 });
            assert.equal(exitCodeOf(withMandatory, true), 1);
            assert.equal(exitCodeOf(verdictOf([stackReport("dev", { violations: [advisory] })]), false), 0);
            const advisoryOnly = renderReport("main", [stackReport("dev", { violations: [advisory] })], false);
            assert.doesNotMatch(advisoryOnly, /### ⛔ Policy/);
            assert.match(advisoryOnly, /Policy pack: ⚠️ 0 mandatory, 1 advisory/);
        });

        it("a blocking change exits 1 unless allowed; a failed preview or validator exits 1", function () {
            const blocked = [stackReport("dev", { changes: [mysqlReplaced, uiUpdated], counts: { replace: 1, update: 1 } })];
            assert.equal(exitCodeOf(verdictOf(blocked), false), 1);
            assert.equal(exitCodeOf(verdictOf(blocked), true), 0);
            assert.match(renderReport("main", blocked, false), /### ⛔ Blocking: 1 replacement\(s\) or deletion\(s\) that lose data or cut traffic\n\n\| stack \| kind \| namespace\/name \| operation \|\n\|---\|---\|---\|---\|\n\| dev \| StatefulSet \| ruoyi\/mysql \| \*\*replace\*\* \|/);
            assert.match(renderReport("main", blocked, true), /### ⚠️ Allowed: 1 replacement/);
            assert.equal(exitCodeOf(verdictOf([stackReport("dev", { error: "invalid configuration (1 problem)" })]), true), 1);
            assert.equal(exitCodeOf(verdictOf([stackReport("dev", { validation: { ok: false, summary: "kube-score: 1 critical" } })]), true), 1);
        });
    });
});
