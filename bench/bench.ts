/**
 * bench/: `npm run bench [-- --sizes 10,100,1000 --runs 3 --modes native,envoy]`. Renders synthetic fleets through the
 * whole program (config validation, model, modes, registration) on the mock engine, against a
 * baseline that registers the same Kubernetes objects directly with no components, and against
 * the floor: the same objects under bare `pulumi.runtime.setMocks`, no recording at all. Each
 * measurement runs in a fresh process, so peak memory (max RSS) is its own. Speed targets live
 * here, never in timed unit tests.
 *
 * May import: everything below it (mocks/, stacks/ with the program, components/ through their faces,
 * tools/); nothing imports bench/.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { MODE_NAMES, type ModeName } from "../components/model";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_ROOT, runWithMocks, valueOf, withoutSourceMappedStacks } from "../mocks/mockEngine";
import { fleetConfig, writeFleet } from "./fleet";

interface Sample {
    ms: number;
    resources: number;
    maxRssMiB: number;
}

const VARIANTS = ["program", "baseline", "floor"] as const;
type Variant = (typeof VARIANTS)[number];

/** The floor: bare `setMocks`, nothing recorded, done when every URN has resolved. */
async function registerBare(register: () => pulumi.Resource[]): Promise<number> {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (args) => {
                throw new Error(`unexpected provider function call ${args.token}`);
            },
        },
        "pluggable-mesh",
        "bench",
    );
    // As runWithMocks runs the program: without source-mapped stack traces, so the floor stays comparable.
    return withoutSourceMappedStacks(async () => {
        const created = register();
        await Promise.all(created.map((resource) => valueOf(resource.urn)));
        return created.length;
    });
}

/** One measurement, in this (fresh) process. */
async function measure(variant: Variant, mode: ModeName, size: number): Promise<Sample> {
    // App specs must live inside the project (stacks refuse paths outside it); out/ is git-ignored.
    fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
    const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", "bench-"));
    try {
        const config = fleetConfig(mode, writeFleet(size, dir));
        const { pluggableMesh } = require("../stacks/program") as typeof import("../stacks/program");
        let program: () => unknown = () => pluggableMesh(PROJECT_ROOT);
        let flat: () => pulumi.Resource[] = () => [];
        if (variant !== "program") {
            // The same objects, computed before the clock starts, registered flat with no components.
            const { loadStack } = require("../stacks/load") as typeof import("../stacks/load");
            const { renderApp } = require("../components/app") as typeof import("../components/app");
            const { registerManifest } = require("../components/resources") as typeof import("../components/resources");
            const stack = loadStack(config, { projectRoot: PROJECT_ROOT });
            const objects = stack.apps.flatMap((app) => renderApp(app, stack.platform).objects);
            flat = () => objects.map((object) => registerManifest(object.name, object.manifest, {}));
            program = flat;
        }
        const start = process.hrtime.bigint();
        const resources = variant === "floor" ? await registerBare(flat) : (await runWithMocks(program, { stack: "bench", config })).resources.length;
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        return { ms, resources, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function runCase(variant: string, mode: string, size: number): Sample {
    const output = execFileSync(process.execPath, [...process.execArgv, __filename, "--case", `${variant},${mode},${size}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return JSON.parse(output.trim().split("\n").pop()!) as Sample;
}

async function main(): Promise<void> {
    const { values } = parseArgs({
        options: { sizes: { type: "string", default: "10,100,1000" }, runs: { type: "string", default: "3" }, modes: { type: "string", default: MODE_NAMES.join(",") }, case: { type: "string" } },
    });
    if (values.case) {
        const [variant, mode, size] = values.case.split(",");
        console.log(JSON.stringify(await measure(variant as Variant, mode as ModeName, Number(size))));
        return;
    }
    const sizes = values.sizes!.split(",").map(Number);
    const modes = values.modes!.split(",") as ModeName[];
    const runs = Number(values.runs);
    console.log(`node ${process.version}, ${os.cpus().length} cores; median of ${runs} runs, each in a fresh process`);
    console.log("program: the whole program on the mock engine; baseline: its objects registered flat on the mock engine; floor: the same under bare setMocks");
    const columns = ["mode    ", "components", "resources", "program ms", "baseline ms", "ratio", "floor ms", "ms/object base", "ms/object floor", "program MiB", "baseline MiB", "ms/component"];
    console.log(columns.join("  "));
    for (const mode of modes) {
        for (const size of sizes) {
            const samples: Record<Variant, Sample[]> = { program: [], baseline: [], floor: [] };
            for (let run = 0; run < runs; run++) {
                for (const variant of VARIANTS) samples[variant].push(runCase(variant, mode, size));
            }
            const ms = (variant: Variant) => median(samples[variant].map((sample) => sample.ms));
            const mib = (variant: Variant) => median(samples[variant].map((sample) => sample.maxRssMiB));
            const objects = samples.baseline[0]!.resources;
            const cells = [
                mode,
                String(size),
                String(samples.program[0]!.resources),
                ms("program").toFixed(0),
                ms("baseline").toFixed(0),
                (ms("program") / ms("baseline")).toFixed(2),
                ms("floor").toFixed(0),
                (ms("baseline") / objects).toFixed(2),
                (ms("floor") / objects).toFixed(2),
                mib("program").toFixed(0),
                mib("baseline").toFixed(0),
                (ms("program") / size).toFixed(2),
            ];
            console.log(cells.map((cell, index) => (index === 0 ? cell.padEnd(columns[index]!.length) : cell.padStart(columns[index]!.length))).join("  "));
        }
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
