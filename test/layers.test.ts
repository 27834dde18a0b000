/**
 * The import rule: layers whose imports point one way. Each file belongs to exactly one part; a
 * part may import its own files and the parts of lower layers, never a peer or anything above it.
 * A component folder is entered only through its face (`index.ts`), and the model and the modes
 * never import Pulumi. New folders must be placed here, or this test fails.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "..");

/** Parts from the bottom up; parts in one row are peers and may not import each other. */
const LAYERS: readonly (readonly string[])[] = [
    // The policy pack: its own npm package that imports nothing of ours, so it runs on any program.
    ["policy"],
    ["components/model"],
    ["components/modes"],
    ["components/resources"],
    ["components/app", "components/istio", "components/observability"],
    // Stacks that read each other: the platform's and the apps' outputs, built from the components below.
    ["components/fleet"],
    ["components/index.ts"],
    ["stacks"],
    ["tools"],
    ["mocks", "devcluster"],
    ["engine"],
    ["cli", "bench"],
];

/** Folders entered only through their face: `index.ts`, or the file named here. */
const FACED = new Set(["components/model", "components/modes", "components/resources", "components/app", "components/istio", "components/observability", "components/fleet", "policy"]);
/** The pack's face is its contract (the labels and annotations it reads); its index.ts starts a policy server. */
const FACES: Record<string, string> = { policy: "policy/contract.ts" };

/** Parts that must stay free of Pulumi: plain data in, plain data out. */
const NO_PULUMI = new Set(["components/model", "components/modes"]);

const SOURCE_ROOTS = ["policy", "components", "stacks", "tools", "mocks", "devcluster", "engine", "cli", "bench"];

function sourceFiles(entry: string): string[] {
    const full = path.join(ROOT, entry);
    if (!fs.existsSync(full)) return [];
    if (fs.statSync(full).isFile()) return entry.endsWith(".ts") ? [entry] : [];
    return fs.readdirSync(full).filter((name) => name !== "node_modules").flatMap((name) => sourceFiles(path.posix.join(entry, name)));
}

function partOf(file: string): string | undefined {
    return LAYERS.flat().find((part) => file === part || file.startsWith(`${part}/`));
}

function layerOf(part: string): number {
    return LAYERS.findIndex((row) => row.includes(part));
}

/** Every module a file imports or requires, as written. */
function importsOf(file: string): string[] {
    const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), "utf8"), true, true);
    return info.importedFiles.map((imported) => imported.fileName);
}

/** A relative import resolved to a project path without extension (`components/model/index`). */
function resolveRelative(file: string, spec: string): string {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const asFile = [`${target}.ts`, `${target}/index.ts`].find((candidate) => fs.existsSync(path.join(ROOT, candidate)));
    return asFile ?? target;
}

/** Every broken rule, as `file: what is wrong`. */
export function layerViolations(files: readonly string[], read: (file: string) => string[] = importsOf): string[] {
    const violations: string[] = [];
    for (const file of files) {
        const from = partOf(file);
        if (from === undefined) {
            violations.push(`${file}: belongs to no part; place its folder in test/layers.test.ts`);
            continue;
        }
        for (const spec of read(file)) {
            if (!spec.startsWith(".")) {
                if (NO_PULUMI.has(from) && spec.startsWith("@pulumi/")) violations.push(`${file}: imports ${spec}, but ${from} stays free of Pulumi`);
                continue;
            }
            const target = resolveRelative(file, spec);
            const to = partOf(target);
            if (to === undefined) {
                violations.push(`${file}: imports ${spec}, which is outside every part`);
                continue;
            }
            if (to === from) continue;
            if (layerOf(to) >= layerOf(from)) {
                violations.push(`${file}: imports ${spec} (${to}), which is ${layerOf(to) === layerOf(from) ? "a peer" : "above it"}`);
            } else if (FACED.has(to) && target !== (FACES[to] ?? `${to}/index.ts`)) {
                violations.push(`${file}: imports ${spec}; enter ${to} through its ${path.posix.basename(FACES[to] ?? "index.ts")}`);
            }
        }
    }
    return violations;
}

describe("import layers", () => {
    const files = SOURCE_ROOTS.flatMap(sourceFiles);

    it("every source file belongs to a part and imports only downward, through faces", () => {
        assert.ok(files.length > 30, `found only ${files.length} source files`);
        assert.deepEqual(layerViolations(files), []);
    });

    it("catches an upward import, a peer import, a reach past a face, the policy pack importing ours and Pulumi in the model (negative controls)", () => {
        const fake: Record<string, string[]> = {
            "components/model/spec.ts": ["../modes", "@pulumi/pulumi"],
            "components/app/plan.ts": ["../istio"],
            "stacks/load.ts": ["../components/istio/controlPlane"],
            "components/modes/envoy.ts": ["../../engine/engine"],
            "devcluster/cluster.ts": ["../cli/stack"],
            "policy/rules.ts": ["../components/model"],
            "components/app/render.ts": ["../../policy/rules"],
        };
        assert.deepEqual(layerViolations(Object.keys(fake), (file) => fake[file]!), [
            "components/model/spec.ts: imports ../modes (components/modes), which is above it",
            "components/model/spec.ts: imports @pulumi/pulumi, but components/model stays free of Pulumi",
            "components/app/plan.ts: imports ../istio (components/istio), which is a peer",
            "stacks/load.ts: imports ../components/istio/controlPlane; enter components/istio through its index.ts",
            "components/modes/envoy.ts: imports ../../engine/engine (engine), which is above it",
            "devcluster/cluster.ts: imports ../cli/stack (cli), which is above it",
            "policy/rules.ts: imports ../components/model (components/model), which is above it",
            "components/app/render.ts: imports ../../policy/rules; enter policy through its contract.ts",
        ]);
        assert.deepEqual(layerViolations(["docs/x.ts"], () => []), ["docs/x.ts: belongs to no part; place its folder in test/layers.test.ts"]);
    });
});
