import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { MODE_NAMES, type ModeName } from "../components/model";
import { PROJECT_ROOT, runWithMocks } from "../mocks/mockEngine";

/**
 * `npm run bench [-- --sizes 10,100,1000 --runs 3]`: renders synthetic fleets through the whole
 * program (config validation, model, modes, registration under the mock runtime) and through a
 * baseline that registers the same Kubernetes objects directly, with no components. Each
 * measurement runs in a fresh process, so peak memory (max RSS) is its own.
 */

const COMPONENTS_PER_APP = 10;

/** A fleet of `size` components in apps of ten; each calls the next two in its app; every fifth keeps state. */
function writeFleet(size: number, dir: string): string[] {
    const files: string[] = [];
    for (let first = 0; first < size; first += COMPONENTS_PER_APP) {
        const count = Math.min(COMPONENTS_PER_APP, size - first);
        const components = Array.from({ length: count }, (_, index) => ({
            name: `svc-${index}`,
            image: "docker.io/library/nginx:1.27.3",
            ports: [{ name: "http", port: 8080, protocol: "http" }],
            dependsOn: [index + 1, index + 2].filter((next) => next < count).map((next) => `svc-${next}`),
            ...(index % 5 === 4 ? { storage: { size: "1Gi", mountPath: "/data" } } : {}),
        }));
        const file = path.join(dir, `app-${first / COMPONENTS_PER_APP}.yaml`);
        fs.writeFileSync(file, stringify({ name: `app-${first / COMPONENTS_PER_APP}`, components }));
        files.push(file);
    }
    return files;
}

function fleetConfig(mode: ModeName, files: string[]): Record<string, string> {
    return {
        "pluggable-mesh:mode": mode,
        "pluggable-mesh:istio": JSON.stringify({ controlPlane: "existing" }),
        "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing" }),
        "pluggable-mesh:apps": JSON.stringify(files.map((spec) => ({ spec }))),
    };
}

interface Sample {
    ms: number;
    resources: number;
    maxRssMiB: number;
}

/** One measurement, in this (fresh) process. */
async function measure(variant: "program" | "baseline", mode: ModeName, size: number): Promise<Sample> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-bench-"));
    try {
        const config = fleetConfig(mode, writeFleet(size, dir));
        const { pluggableMesh } = require("../stacks/program") as typeof import("../stacks/program");
        let program: () => unknown = () => pluggableMesh(PROJECT_ROOT);
        if (variant === "baseline") {
            // The same objects, computed before the clock starts, registered flat with no components.
            const { loadStack } = require("../stacks/load") as typeof import("../stacks/load");
            const { renderApp } = require("../components/app") as typeof import("../components/app");
            const { registerManifest } = require("../components/resources") as typeof import("../components/resources");
            const stack = loadStack(config, { projectRoot: PROJECT_ROOT });
            const objects = stack.apps.flatMap((app) => renderApp(app, stack.platform).objects);
            program = () => objects.map((object) => registerManifest(object.name, object.manifest, {}));
        }
        const start = process.hrtime.bigint();
        const { resources } = await runWithMocks(program, { stack: "bench", config });
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        return { ms, resources: resources.length, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
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
    const { values } = parseArgs({ options: { sizes: { type: "string", default: "10,100,1000" }, runs: { type: "string", default: "3" }, case: { type: "string" } } });
    if (values.case) {
        const [variant, mode, size] = values.case.split(",");
        console.log(JSON.stringify(await measure(variant as "program" | "baseline", mode as ModeName, Number(size))));
        return;
    }
    const sizes = values.sizes!.split(",").map(Number);
    const runs = Number(values.runs);
    console.log(`node ${process.version}, ${os.cpus().length} cores; median of ${runs} runs, each in a fresh process`);
    console.log("mode     components  resources  program ms  baseline ms  ratio  program MiB  baseline MiB  ms/component");
    for (const mode of MODE_NAMES) {
        for (const size of sizes) {
            const program: Sample[] = [];
            const baseline: Sample[] = [];
            for (let run = 0; run < runs; run++) {
                program.push(runCase("program", mode, size));
                baseline.push(runCase("baseline", mode, size));
            }
            const ours = median(program.map((sample) => sample.ms));
            const theirs = median(baseline.map((sample) => sample.ms));
            console.log(
                [
                    mode.padEnd(8),
                    String(size).padStart(10),
                    String(program[0]!.resources).padStart(10),
                    ours.toFixed(0).padStart(11),
                    theirs.toFixed(0).padStart(12),
                    (ours / theirs).toFixed(2).padStart(6),
                    median(program.map((sample) => sample.maxRssMiB)).toFixed(0).padStart(12),
                    median(baseline.map((sample) => sample.maxRssMiB)).toFixed(0).padStart(13),
                    (ours / size).toFixed(2).padStart(13),
                ].join(" "),
            );
        }
    }
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
