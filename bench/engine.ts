/**
 * bench/: `npm run bench:engine [-- --sizes 10,100,1000 --runs 1 --checkpoints off|on|both --stack-size 100]`.
 * The real engine (Automation API, the pinned CLI and Kubernetes provider, a file backend in a
 * temporary folder, render mode) on synthetic fleets in envoy mode (bench/fleet.ts), split into
 * stacks of at most `--stack-size` components deployed one after the other. Each fleet runs twice
 * in one run: through the program, and flat (the same Kubernetes objects registered directly: no
 * components, no parents, no dependsOn). Per stack, one fresh child process runs `up`, a no-change
 * `preview` and `destroy`, so the program's max RSS is its own; this process polls the RSS of the
 * child's process tree (the pulumi CLI and its provider) for the engine's peak. Prints Markdown
 * tables (medians when `--runs` > 1) and writes everything measured to out/bench-engine-<time>.json.
 *
 * May import: everything below it (engine/, stacks/, components/ through their faces, tools/);
 * nothing imports bench/.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { renderApp, type RenderedObject } from "../components/app";
import { registerManifest } from "../components/resources";
import { engineEnvironment, ensureTools, LOCAL_PASSPHRASE } from "../engine/engine";
import { PROJECT } from "../stacks/config";
import { loadStack } from "../stacks/load";
import { pluggableMesh } from "../stacks/program";
import { COMPONENTS_PER_APP, fleetConfig, writeFleet } from "./fleet";
import {
    BenchUsageError,
    fleetSample,
    markdownReport,
    medianSample,
    parseBenchOptions,
    splitFleet,
    USAGE,
    VARIANTS,
    type BenchOptions,
    type Checkpoints,
    type FleetSample,
    type Operation,
    type SizeResult,
    type StackSample,
    type Variant,
} from "./engineReport";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** What the parent asks of one child: one stack of one variant. */
export interface StackCase {
    variant: Variant;
    stack: string;
    components: number;
    firstApp: number;
    checkpoints: Checkpoints;
    /** The run's file backend (outside the project). */
    stateDir: string;
    operations: Operation[];
    /** This stack's app specs, render output and workspace (inside the project's out/: config paths may not leave it). */
    workDir: string;
    binDir: string;
}

const MiB = 1024 * 1024;

async function timed<T>(operation: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const start = process.hrtime.bigint();
    const result = await operation();
    return { result, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

/** A stack of one fleet part in render mode, its workspace, backend and checkpoint setting as `spec` says. */
export async function openBenchStack(spec: StackCase): Promise<{ stack: Stack; renderDir: string; config: Record<string, string> }> {
    const specDir = path.join(spec.workDir, "apps");
    const renderDir = path.join(spec.workDir, "rendered");
    fs.mkdirSync(specDir, { recursive: true });
    const config: Record<string, string> = {
        ...fleetConfig("envoy", writeFleet(spec.components, specDir, spec.firstApp)),
        [`${PROJECT}:kubernetes`]: JSON.stringify({ renderYamlToDirectory: renderDir }),
    };
    const program = spec.variant === "program" ? programOf() : flatProgramOf(config, renderDir);
    const tools = { pulumiBin: path.join(spec.binDir, "pulumi"), providerBin: "", istioCharts: "", binDir: spec.binDir };
    const envVars = {
        ...engineEnvironment(tools, spec.stateDir, { kind: "render", dir: renderDir }),
        // The bench's own backend and passphrase, whatever the user has set.
        PULUMI_BACKEND_URL: `file://${spec.stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
        PULUMI_SKIP_CHECKPOINTS: spec.checkpoints === "off" ? "true" : "false",
    };
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(spec.binDir), skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack({ projectName: PROJECT, stackName: spec.stack, program }, { workDir: spec.workDir, pulumiCommand, envVars });
    await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, value]) => [key, { value }])));
    return { stack, renderDir, config };
}

/** In the child: `up`, no-change `preview` and `destroy` of one stack, timed. */
async function measureStack(spec: StackCase): Promise<StackSample> {
    const { stack } = await openBenchStack(spec);
    let deployed = false;
    try {
        deployed = true;
        const up = await timed(() => stack.up({ color: "never" }));
        const state = ((await stack.exportStack()).deployment?.resources ?? []) as { type: string }[];
        let previewMs = NaN;
        if (spec.operations.includes("preview")) {
            const preview = await timed(() => stack.preview({ color: "never" }));
            const changed = Object.entries(preview.result.changeSummary).filter(([op, count]) => op !== "same" && (count ?? 0) > 0);
            if (changed.length > 0) throw new Error(`stack ${spec.stack}: the preview after up was not a no-change preview: ${JSON.stringify(Object.fromEntries(changed))}`);
            previewMs = preview.ms;
        }
        let destroyMs = NaN;
        if (spec.operations.includes("destroy")) {
            destroyMs = (await timed(() => stack.destroy({ color: "never" }))).ms;
            deployed = false;
        }
        return {
            upMs: up.ms,
            previewMs,
            destroyMs,
            resources: state.length,
            objects: state.filter((resource) => resource.type.startsWith("kubernetes:")).length,
            programMiB: process.resourceUsage().maxRSS / 1024,
            engineMiB: 0,
        };
    } finally {
        // Render mode: what up made is files in the stack's folder, which the parent deletes, so a
        // stack that was not destroyed (a failure, or destroy not measured) is removed with its state.
        if (deployed) await stack.workspace.removeStack(spec.stack, { force: true }).catch(() => undefined);
        else await stack.workspace.removeStack(spec.stack).catch(() => undefined);
    }
}

/** The program, exactly as `npm run up` runs it. */
function programOf(): () => Promise<Record<string, unknown>> {
    // Awaited: the program may be async (an app stack reads its platform stack first).
    return async () => ({ ...(await pluggableMesh(PROJECT_ROOT)) });
}

/**
 * The flat baseline: the program's own Kubernetes objects (its offline render, computed before
 * the engine starts), registered directly through one render-mode provider.
 */
function flatProgramOf(config: Record<string, string>, renderDir: string): () => Promise<void> {
    const objects = fleetObjects(config);
    return async () => {
        const provider = new k8s.Provider("kubernetes", { renderYamlToDirectory: renderDir });
        for (const object of objects) registerManifest(object.name, object.manifest, { provider });
    };
}

/** The Kubernetes objects of a fleet's stack config, as the offline render makes them. */
export function fleetObjects(config: Record<string, string>): RenderedObject[] {
    const loaded = loadStack(config, { projectRoot: PROJECT_ROOT });
    return loaded.apps.flatMap((app) => renderApp(app, loaded.platform).objects);
}

/** Descendants of `pid` (children of every thread, recursively), from /proc. */
export function descendants(pid: number): number[] {
    const found: number[] = [];
    const queue = [pid];
    while (queue.length > 0) {
        const parent = queue.shift()!;
        let tasks: string[] = [];
        try {
            tasks = fs.readdirSync(`/proc/${parent}/task`);
        } catch {
            continue;
        }
        for (const task of tasks) {
            let children = "";
            try {
                children = fs.readFileSync(`/proc/${parent}/task/${task}/children`, "utf8");
            } catch {
                continue;
            }
            for (const child of children.split(" ").filter(Boolean).map(Number)) {
                if (!found.includes(child)) {
                    found.push(child);
                    queue.push(child);
                }
            }
        }
    }
    return found;
}

const PAGE_SIZE = 4096;

function rssBytes(pid: number): number {
    try {
        return Number(fs.readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * PAGE_SIZE;
    } catch {
        return 0;
    }
}

/** The engine's processes: the pulumi CLI and its plugins (not tsx's esbuild service, also a child). */
function isEngine(pid: number): boolean {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("pulumi");
    } catch {
        return false;
    }
}

/** Runs one stack's measurement in a fresh child process, polling its engine's memory. */
function runStack(spec: StackCase): Promise<StackSample> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...process.execArgv, __filename, "--case", JSON.stringify(spec)], { stdio: ["ignore", "pipe", "pipe"] });
        running.add(child.pid!);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (data: Buffer) => (stdout += data.toString()));
        child.stderr.on("data", (data: Buffer) => (stderr = (stderr + data.toString()).slice(-20_000)));
        let engineBytes = 0;
        const poll = setInterval(() => {
            const engine = descendants(child.pid!).filter(isEngine);
            engineBytes = Math.max(engineBytes, engine.reduce((total, pid) => total + rssBytes(pid), 0));
        }, 200);
        child.on("close", (code) => {
            clearInterval(poll);
            running.delete(child.pid!);
            const last = stdout.trim().split("\n").pop() ?? "";
            if (code !== 0 || !last.startsWith("{")) {
                reject(new Error(`stack ${spec.stack} (${spec.variant}, ${spec.components} components, checkpoints ${spec.checkpoints}) failed (exit ${code}):\n${stderr.trim() || stdout.trim()}`));
                return;
            }
            resolve({ ...(JSON.parse(last) as StackSample), engineMiB: engineBytes / MiB });
        });
    });
}

/** Child processes still running, ended if the bench is interrupted. */
const running = new Set<number>();

interface RunRoot {
    stateDir: string;
    outDir: string;
}

/** One fleet of one variant: its stacks one after the other. */
async function runFleet(root: RunRoot, variant: Variant, size: number, checkpoints: Checkpoints, options: BenchOptions, binDir: string, run: number): Promise<StackSample[]> {
    const samples: StackSample[] = [];
    for (const part of splitFleet(size, options.stackSize, COMPONENTS_PER_APP)) {
        const stack = `bench-${variant}-${size}-${checkpoints}-${run}-${part.index}`;
        const workDir = path.join(root.outDir, stack);
        try {
            samples.push(await runStack({ variant, stack, components: part.components, firstApp: part.firstApp, checkpoints, stateDir: root.stateDir, operations: options.operations, workDir, binDir }));
        } finally {
            fs.rmSync(workDir, { recursive: true, force: true });
        }
        const last = samples[samples.length - 1]!;
        const times = [["up", last.upMs], ["preview", last.previewMs], ["destroy", last.destroyMs]].filter(([, ms]) => Number.isFinite(ms)).map(([name, ms]) => `${name} ${((ms as number) / 1000).toFixed(1)} s`);
        process.stderr.write(`  ${stack}: ${part.components} components, ${last.resources} resources, ${times.join(", ")}\n`);
    }
    return samples;
}

interface Report {
    startedAt: string;
    node: string;
    cores: number;
    loadAverage: number[];
    options: ReturnType<typeof parseBenchOptions>;
    results: (SizeResult & { samples: Record<Variant, { fleet: FleetSample; stacks: StackSample[] }[]> })[];
}

async function main(argv: readonly string[]): Promise<void> {
    if (argv.includes("--help") || argv.includes("-h")) {
        console.log(USAGE);
        return;
    }
    const options = parseBenchOptions(argv);
    const tools = ensureTools();
    const startedAt = new Date().toISOString();
    const root: RunRoot = {
        stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-bench-engine-")),
        outDir: path.join(PROJECT_ROOT, "out", `bench-engine-work-${process.pid}`),
    };
    const cleanUp = () => {
        for (const pid of running) {
            try {
                process.kill(pid, "SIGTERM");
            } catch {
                // already gone
            }
        }
        fs.rmSync(root.stateDir, { recursive: true, force: true });
        fs.rmSync(root.outDir, { recursive: true, force: true });
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            cleanUp();
            process.exit(130);
        });
    }
    const report: Report = { startedAt, node: process.version, cores: os.cpus().length, loadAverage: os.loadavg(), options, results: [] };
    try {
        console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((load) => load.toFixed(2)).join(" ")}; real engine, render mode, file backend; envoy mode; stacks of at most ${options.stackSize} components, deployed one after the other`);
        for (const checkpoints of options.checkpoints) {
            for (const size of options.sizes) {
                const samples: Record<Variant, { fleet: FleetSample; stacks: StackSample[] }[]> = { program: [], flat: [] };
                for (let run = 0; run < options.runs; run++) {
                    // Program and flat alternate, so a change in the machine's load hits both alike.
                    for (const variant of VARIANTS) {
                        process.stderr.write(`${size} components, ${variant}, checkpoints ${checkpoints}, run ${run + 1}/${options.runs}\n`);
                        const stacks = await runFleet(root, variant, size, checkpoints, options, tools.binDir, run);
                        samples[variant].push({ fleet: fleetSample(stacks), stacks });
                    }
                }
                const result: SizeResult = {
                    size,
                    checkpoints,
                    runs: options.runs,
                    program: medianSample(samples.program.map((sample) => sample.fleet)),
                    flat: medianSample(samples.flat.map((sample) => sample.fleet)),
                };
                if (result.program.objects !== result.flat.objects) {
                    throw new Error(`${size} components: the program made ${result.program.objects} Kubernetes objects, the flat baseline ${result.flat.objects}; they must be the same objects`);
                }
                report.results.push({ ...result, samples });
            }
        }
    } finally {
        cleanUp();
    }
    console.log(`\n${options.runs > 1 ? `medians of ${options.runs} runs; ` : ""}load average at the end ${os.loadavg().map((load) => load.toFixed(2)).join(" ")}\n`);
    console.log(markdownReport(report.results));
    const file = path.join(PROJECT_ROOT, "out", `bench-engine-${startedAt.replace(/[:.]/g, "-")}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwritten: ${path.relative(process.cwd(), file)}`);
}

async function child(spec: StackCase): Promise<void> {
    console.log(JSON.stringify(await measureStack(spec)));
}

if (require.main === module) {
    const argv = process.argv.slice(2);
    const run = argv[0] === "--case" ? child(JSON.parse(argv[1]!) as StackCase) : main(argv);
    run.catch((error: unknown) => {
        if (error instanceof BenchUsageError) {
            console.error(`error: ${error.message}\n\n${USAGE}`);
            process.exit(2);
        }
        console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    });
}
