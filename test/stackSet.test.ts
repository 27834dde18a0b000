/**
 * The planner of a set of stacks (engine/stackSet.ts), on stack files and app specs in a
 * temporary project: which stacks a command runs, in which order, and the one message for each
 * bad input. No engine.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { destroyLevels, dependentsOf, planStackSet, runOrder, type StackSetPlan } from "../engine/stackSet";
import { callsOfSpec, planProjectSet } from "../engine/stackSetFiles";

type Config = Record<string, unknown>;

/** A project folder holding the given stack files (config only) and app spec files. */
function project(stacks: Record<string, Config>, specs: Record<string, unknown> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-stackset-"));
    for (const [name, config] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), stringify({ config }));
    for (const [file, spec] of Object.entries(specs)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), typeof spec === "string" ? spec : stringify(spec));
    }
    return dir;
}

const app = (name: string, ...dependsOn: unknown[]) => ({ name, components: [{ name: "web", image: "nginx:1", dependsOn }, { name: "db", image: "redis:7" }] });
const appStack = (platform: unknown, specs: string[], peers?: unknown): Config => ({
    "pluggable-mesh:platformStack": platform,
    ...(peers !== undefined ? { "pluggable-mesh:peerStacks": peers } : {}),
    "pluggable-mesh:apps": specs.map((spec) => ({ spec })),
});

/** The example layout: ruoyi calls bookinfo across stacks (peers both ways), shop stands alone, dev is a single stack. */
function fleetProject(overrides: Record<string, Config> = {}, specs: Record<string, unknown> = {}): string {
    return project(
        {
            fleet: { "pluggable-mesh:mode": "envoy" },
            "fleet-ruoyi": appStack("fleet", ["apps/ruoyi.yaml"], ["fleet-bookinfo"]),
            "fleet-bookinfo": appStack("fleet", ["apps/bookinfo.yaml"], ["fleet-ruoyi"]),
            "fleet-shop": appStack("fleet", ["apps/shop.yaml"]),
            dev: { "pluggable-mesh:apps": [{ spec: "apps/ruoyi.yaml" }, { spec: "apps/bookinfo.yaml" }] },
            ...overrides,
        },
        {
            "apps/ruoyi.yaml": app("ruoyi", "db", "bookinfo/productpage:http"),
            "apps/bookinfo.yaml": app("bookinfo", "db"),
            "apps/shop.yaml": app("shop", { target: "db", env: { DB: "address" } }),
            ...specs,
        },
    );
}

function messageOf(run: () => unknown): string {
    try {
        run();
    } catch (error) {
        return (error as Error).message;
    }
    assert.fail("expected the plan to be refused");
}

const levels = (plan: StackSetPlan) => plan.levels;

describe("the set of stacks (planner)", () => {
    const made: string[] = [];
    const fleet = (overrides?: Record<string, Config>, specs?: Record<string, unknown>) => {
        const dir = fleetProject(overrides, specs);
        made.push(dir);
        return dir;
    };
    after(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    it("a platform stack: itself first, then its app stacks callee before caller; destroy in exact reverse", () => {
        const plan = planProjectSet("fleet", fleet());
        assert.deepEqual(levels(plan), [["fleet"], ["fleet-bookinfo", "fleet-shop"], ["fleet-ruoyi"]]);
        assert.deepEqual(runOrder(plan), ["fleet", "fleet-bookinfo", "fleet-shop", "fleet-ruoyi"]);
        assert.deepEqual(destroyLevels(plan), [["fleet-ruoyi"], ["fleet-shop", "fleet-bookinfo"], ["fleet"]]);
        assert.deepEqual(destroyLevels(plan).flat(), [...runOrder(plan)].reverse());
        assert.deepEqual(plan.stacks.get("fleet-ruoyi"), { name: "fleet-ruoyi", kind: "app", platform: "fleet", peers: ["fleet-bookinfo"], callees: ["fleet-bookinfo"], needs: ["fleet", "fleet-bookinfo"] });
        assert.deepEqual(plan.stacks.get("fleet"), { name: "fleet", kind: "platform", peers: [], callees: [], needs: [] });
        assert.deepEqual(dependentsOf(plan, "fleet"), ["fleet-bookinfo", "fleet-shop", "fleet-ruoyi"]);
        assert.deepEqual(dependentsOf(plan, "fleet-bookinfo"), ["fleet-ruoyi"]);
        assert.deepEqual(dependentsOf(plan, "fleet-ruoyi"), []);
    });

    it("an app stack is a set of its own, which needs its platform and its callees deployed", () => {
        const dir = fleet();
        const plan = planProjectSet("fleet-ruoyi", dir);
        assert.deepEqual(levels(plan), [["fleet-ruoyi"]]);
        assert.deepEqual(plan.stacks.get("fleet-ruoyi")!.needs, ["fleet", "fleet-bookinfo"]);
        assert.deepEqual(levels(planProjectSet("fleet-bookinfo", dir)), [["fleet-bookinfo"]]);
        assert.deepEqual(planProjectSet("fleet-bookinfo", dir).stacks.get("fleet-bookinfo")!.needs, ["fleet"]);
    });

    it("a single stack (no platformStack, no app stack naming it) is a set of one, as dev, staging and prod stay", () => {
        assert.deepEqual(levels(planProjectSet("dev", fleet())), [["dev"]]);
        assert.deepEqual(destroyLevels(planProjectSet("dev", fleet())), [["dev"]]);
    });

    it("mutual peerStacks without a dependency run side by side; a chain makes one level per step", () => {
        const mutual = fleet({}, { "apps/ruoyi.yaml": app("ruoyi", "db") });
        assert.deepEqual(levels(planProjectSet("fleet", mutual)), [["fleet"], ["fleet-bookinfo", "fleet-ruoyi", "fleet-shop"]]);
        const chain = fleet({ "fleet-shop": appStack("fleet", ["apps/shop.yaml"], ["fleet-ruoyi"]) }, { "apps/shop.yaml": app("shop", "ruoyi/web") });
        assert.deepEqual(levels(planProjectSet("fleet", chain)), [["fleet"], ["fleet-bookinfo"], ["fleet-ruoyi"], ["fleet-shop"]]);
        assert.deepEqual(destroyLevels(planProjectSet("fleet", chain)), [["fleet-shop"], ["fleet-ruoyi"], ["fleet-bookinfo"], ["fleet"]]);
    });

    it("a dependency cycle between stacks is refused with one message naming the stacks and the calls", () => {
        const dir = fleet({}, { "apps/bookinfo.yaml": app("bookinfo", { target: "ruoyi/web:http" }) });
        const expected =
            "invalid configuration (1 problem):\nstacks fleet-bookinfo, fleet-ruoyi: their apps depend on each other in a cycle: fleet-bookinfo (bookinfo calls ruoyi) → fleet-ruoyi, fleet-ruoyi (ruoyi calls bookinfo) → fleet-bookinfo; a stack deploys after the stacks it calls, so no order works. Remove one of these dependencies, or deploy the apps of the cycle in one stack";
        assert.equal(messageOf(() => planProjectSet("fleet", dir)), expected);
        // The app stack alone reads the same peers, so it is refused the same way.
        assert.equal(messageOf(() => planProjectSet("fleet-ruoyi", dir)), expected);
    });

    it("a cycle through three stacks names all three", () => {
        const dir = fleet(
            { "fleet-shop": appStack("fleet", ["apps/shop.yaml"], ["fleet-ruoyi"]), "fleet-bookinfo": appStack("fleet", ["apps/bookinfo.yaml"], ["fleet-shop"]) },
            { "apps/shop.yaml": app("shop", "ruoyi/web"), "apps/bookinfo.yaml": app("bookinfo", "shop/web") },
        );
        assert.equal(
            messageOf(() => planProjectSet("fleet", dir)),
            "invalid configuration (1 problem):\nstacks fleet-bookinfo, fleet-ruoyi, fleet-shop: their apps depend on each other in a cycle: fleet-bookinfo (bookinfo calls shop) → fleet-shop, fleet-shop (shop calls ruoyi) → fleet-ruoyi, fleet-ruoyi (ruoyi calls bookinfo) → fleet-bookinfo; a stack deploys after the stacks it calls, so no order works. Remove one of these dependencies, or deploy the apps of the cycle in one stack",
        );
    });

    describe("bad input: one clear message before anything runs", () => {
        const refused = (target: string, overrides: Record<string, Config>, specs: Record<string, unknown> = {}) => messageOf(() => planProjectSet(target, fleet(overrides, specs)));

        it("an unknown platformStack", () => {
            assert.equal(
                refused("fleet-ruoyi", { "fleet-ruoyi": appStack("flet", ["apps/ruoyi.yaml"]) }),
                'invalid configuration (1 problem):\nPulumi.fleet-ruoyi.yaml: pluggable-mesh:platformStack: "flet" is not a stack of this project (there is no Pulumi.flet.yaml); the stacks here are dev, fleet, fleet-bookinfo, fleet-ruoyi, fleet-shop, or name a stack elsewhere as org/project/stack',
            );
        });

        it("a platformStack that is itself an app stack, or the stack itself", () => {
            assert.equal(
                refused("fleet-ruoyi", { "fleet-ruoyi": appStack("fleet-shop", ["apps/ruoyi.yaml"]) }),
                'invalid configuration (1 problem):\nPulumi.fleet-ruoyi.yaml: pluggable-mesh:platformStack: "fleet-shop" is an app stack (Pulumi.fleet-shop.yaml sets pluggable-mesh:platformStack); name a platform stack, one that sets no pluggable-mesh:platformStack',
            );
            assert.equal(
                refused("fleet-shop", { "fleet-shop": appStack("fleet-shop", ["apps/shop.yaml"]) }),
                "invalid configuration (1 problem):\nPulumi.fleet-shop.yaml: pluggable-mesh:platformStack: names this stack itself; name the platform stack whose `platform` output its apps use, or remove the key to make this a platform stack",
            );
        });

        it("a platformStack or peerStacks of the wrong type", () => {
            assert.equal(
                refused("fleet", { "fleet-shop": appStack(["fleet"], ["apps/shop.yaml"], "fleet-ruoyi") }),
                'invalid configuration (2 problems):\nPulumi.fleet-shop.yaml: pluggable-mesh:platformStack: expected the name of a platform stack (a stack of this project, or org/project/stack), given ["fleet"]\nPulumi.fleet-shop.yaml: pluggable-mesh:peerStacks: expected a list of app stack names, given "fleet-ruoyi"',
            );
        });

        it("a name that is no stack name is refused clipped, before it becomes a file name (hostile input)", () => {
            const long = "x".repeat(5000);
            const message = refused("fleet", { "fleet-shop": appStack("../../etc/passwd", ["apps/shop.yaml"], [long]) });
            assert.equal(
                message,
                `invalid configuration (2 problems):\nPulumi.fleet-shop.yaml: pluggable-mesh:platformStack: "../../etc/passwd" is not a stack name; use a stack of this project (letters, digits, '-', '_' and '.', at most 100 characters, e.g. "fleet") or a fully qualified "org/project/stack"\nPulumi.fleet-shop.yaml: pluggable-mesh:peerStacks: "${"x".repeat(60)}…" (5000 characters) is not a stack name; use a stack of this project (letters, digits, '-', '_' and '.', at most 100 characters, e.g. "fleet") or a fully qualified "org/project/stack"`,
            );
        });

        it("a peer stack that does not exist, the stack itself, or a platform stack", () => {
            assert.equal(
                refused("fleet", { "fleet-shop": appStack("fleet", ["apps/shop.yaml"], ["fleet-shop", "fleet-payments", "dev"]) }),
                'invalid configuration (3 problems):\nPulumi.fleet-shop.yaml: pluggable-mesh:peerStacks: names this stack itself; list the other app stacks whose apps this stack\'s apps call or are called by\nPulumi.fleet-shop.yaml: pluggable-mesh:peerStacks: "fleet-payments" is not a stack of this project (there is no Pulumi.fleet-payments.yaml); the stacks here are dev, fleet, fleet-bookinfo, fleet-ruoyi, fleet-shop\nPulumi.fleet-shop.yaml: pluggable-mesh:peerStacks: "dev" is a platform stack (Pulumi.dev.yaml sets no pluggable-mesh:platformStack); peerStacks lists app stacks',
            );
        });

        it("a dependency on an app of the set that the stack's peerStacks do not list", () => {
            assert.equal(
                refused("fleet", {}, { "apps/shop.yaml": app("shop", "ruoyi/web") }),
                'invalid configuration (1 problem):\nPulumi.fleet-shop.yaml: pluggable-mesh:peerStacks: app "shop" (apps/shop.yaml) depends on app "ruoyi", which stack fleet-ruoyi deploys; add it to this stack\'s peerStacks',
            );
        });

        it("an app spec outside the project, missing, or not YAML, without quoting the file", () => {
            const message = refused("fleet", { "fleet-shop": appStack("fleet", ["../outside.yaml", "apps/missing.yaml", "apps/broken.yaml"]) }, { "apps/broken.yaml": "name: [SECRET-VALUE\n" });
            assert.equal(
                message,
                'invalid configuration (3 problems):\nPulumi.fleet-shop.yaml: pluggable-mesh:apps[0].spec: "../outside.yaml" leads outside the allowed folders (symlinks followed); use a path inside the project (relative to its root)\nPulumi.fleet-shop.yaml: pluggable-mesh:apps[1].spec: cannot read app spec file "apps/missing.yaml" (relative to the project root)\nPulumi.fleet-shop.yaml: pluggable-mesh:apps[2].spec: "apps/broken.yaml" is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1',
            );
            assert.ok(!message.includes("SECRET-VALUE"));
        });

        it("apps that are not a list of specs", () => {
            assert.equal(
                refused("fleet-shop", { "fleet-shop": { "pluggable-mesh:platformStack": "fleet", "pluggable-mesh:apps": [{ spec: 3 }] } }),
                "invalid configuration (1 problem):\nPulumi.fleet-shop.yaml: pluggable-mesh:apps[0].spec: expected the path of an app spec file (relative to the project root), given 3",
            );
        });

        it("a stack that is not there, named as every command names it", () => {
            assert.equal(messageOf(() => planProjectSet("fleet-payments", fleet())), 'no stack "fleet-payments": there is no Pulumi.fleet-payments.yaml; the stacks here are dev, fleet, fleet-bookinfo, fleet-ruoyi, fleet-shop');
            assert.equal(
                messageOf(() => planStackSet("nowhere", [{ name: "dev" }], () => [])),
                'invalid configuration (1 problem):\nPulumi.nowhere.yaml: there is no stack "nowhere"; the stacks here are dev',
            );
        });

        it("a stack outside the set with bad keys does not block the set (negative control)", () => {
            const dir = fleet({ other: appStack("nowhere", []) });
            assert.deepEqual(levels(planProjectSet("fleet", dir)), [["fleet"], ["fleet-bookinfo", "fleet-shop"], ["fleet-ruoyi"]]);
            assert.match(messageOf(() => planProjectSet("other", dir)), /pluggable-mesh:platformStack: "nowhere" is not a stack of this project/);
        });
    });

    it("an app stack's command reads only the stack files it refers to; a platform's reads them all (any may name it)", () => {
        const dir = fleet();
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config:\n  pluggable-mesh:mode: [SECRET-VALUE\n");
        assert.deepEqual(levels(planProjectSet("fleet-ruoyi", dir)), [["fleet-ruoyi"]]);
        const message = messageOf(() => planProjectSet("fleet", dir));
        assert.match(message, /^invalid configuration \(1 problem\):\nPulumi\.broken\.yaml:3:1: not valid YAML: /);
        assert.ok(!message.includes("SECRET-VALUE"));
        // A broken stack the app stack refers to is read, and refused.
        fs.renameSync(path.join(dir, "Pulumi.broken.yaml"), path.join(dir, "Pulumi.fleet-bookinfo.yaml"));
        assert.match(messageOf(() => planProjectSet("fleet-ruoyi", dir)), /^invalid configuration \(1 problem\):\nPulumi\.fleet-bookinfo\.yaml:3:1: not valid YAML: /);
    });

    it("a platform or peer elsewhere (org/project/stack) is accepted; the platform is needed, not run", () => {
        const plan = planProjectSet("fleet-shop", fleet({ "fleet-shop": appStack("acme/platform/prod", ["apps/shop.yaml"], ["acme/payments/prod"]) }));
        assert.deepEqual(levels(plan), [["fleet-shop"]]);
        assert.deepEqual(plan.stacks.get("fleet-shop")!.needs, ["acme/platform/prod"]);
    });

    it("reads cross-app calls from every dependsOn form, and nothing else", () => {
        assert.deepEqual(callsOfSpec(app("ruoyi", "db", "bookinfo/productpage", { target: "shop/web:http" }, "ruoyi/db", { target: 3 }, 7)), { app: "ruoyi", calls: ["bookinfo", "shop"] });
        assert.deepEqual(callsOfSpec("not a spec"), { calls: [] });
        assert.deepEqual(callsOfSpec({ components: [{ dependsOn: "bookinfo/x" }] }), { calls: [] });
    });
});
