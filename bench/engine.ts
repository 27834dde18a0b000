/**
 * bench/: `npm run bench:engine [-- --sizes 10,100,1000 --runs 1 --checkpoints off|on|both --stack-size 100]`.
 * The real engine (Automation API, the pinned CLI and Kubernetes provider, a file backend in a
 * temporary folder, render mode) on synthetic fleets in envoy mode (bench/fleet.ts), split into
 * stacks of at most `--stack-size` components deployed one after the other (through the program:
 * a platform stack and app stacks naming it, docs/fleet.md). Each fleet runs twice in one run,
 * stack by stack in turn: through the program, and flat (the same Kubernetes objects registered directly: no
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
    /**
     * `stack`: a stack of its own (the flat baseline always, the program when the fleet fits one
     * stack); `platform`: the platform stack of a split fleet (no apps); `app`: an app stack naming
     * `platformStack` (docs/fleet.md).
     */
    role: "stack" | "platform" | "app";
    platformStack?: string;
    /** `all`: up, preview, destroy; `deploy`: up and preview, the stack left standing; `destroy`: destroy only. */
    stage: "all" | "deploy" | "destroy";
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
    const files = writeFleet(spec.components, specDir, spec.firstApp);
    const kubernetes = { [`${PROJECT}:kubernetes`]: JSON.stringify({ renderYamlToDirectory: renderDir }) };
    const standalone: Record<string, string> = { ...fleetConfig("envoy", files), ...kubernetes };
    const config: Record<string, string> =
        spec.role === "stack"
            ? standalone
            : spec.role === "platform"
              ? { ...fleetConfig("envoy", []), ...kubernetes }
              : // An app stack sets only what it owns; the platform stack owns istio and linkerd.
                { [`${PROJECT}:mode`]: "envoy", [`${PROJECT}:apps`]: standalone[`${PROJECT}:apps`]!, [`${PROJECT}:platformStack`]: spec.platformStack!, ...kubernetes };
    const program = spec.variant === "program" ? programOf() : flatProgramOf(standalone, renderDir);
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

/** In the child: what `spec.stage` says of `up`, no-change `preview` and `destroy` of one stack, timed. */
async function measureStack(spec: StackCase): Promise<StackSample> {
    const { stack } = await openBenchStack(spec);
    if (spec.stage === "destroy") return destroyStack(spec, stack);
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
        if (spec.stage === "deploy") {
            // Left standing for the app stacks that read it; a later child destroys it.
            deployed = false;
            return { upMs: up.ms, previewMs, destroyMs, ...counts(state), programMiB: process.resourceUsage().maxRSS / 1024, engineMiB: 0 };
        }
        if (spec.operations.includes("destroy")) {
            destroyMs = (await timed(() => stack.destroy({ color: "never" }))).ms;
            deployed = false;
        }
        return {
            upMs: up.ms,
            previewMs,
            destroyMs,
            ...counts(state),
            programMiB: process.resourceUsage().maxRSS / 1024,
            engineMiB: 0,
        };
    } finally {
        // Render mode: what up made is files in the stack's folder, which the parent deletes, so a
        // stack that was not destroyed (a failure, or destroy not measured) is removed with its state.
        if (deployed) await stack.workspace.removeStack(spec.stack, { force: true }).catch(() => undefined);
        else if (spec.stage !== "deploy") await stack.workspace.removeStack(spec.stack).catch(() => undefined);
    }
}

function counts(state: readonly { type: string }[]): { resources: number; objects: number } {
    return { resources: state.length, objects: state.filter((resource) => resource.type.startsWith("kubernetes:")).length };
}

/** The platform stack's last stage: destroyed (timed when measured) and removed, after its app stacks. */
async function destroyStack(spec: StackCase, stack: Stack): Promise<StackSample> {
    let destroyMs = NaN;
    if (spec.operations.includes("destroy")) destroyMs = (await timed(() => stack.destroy({ color: "never" }))).ms;
    await stack.workspace.removeStack(spec.stack, { force: !spec.operations.includes("destroy") });
    return { upMs: 0, previewMs: 0, destroyMs, resources: 0, objects: 0, programMiB: process.resourceUsage().maxRSS / 1024, engineMiB: 0 };
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
            // JSON has no NaN (an operation not measured): it arrives as null.
            const sample = JSON.parse(last, (_key, value: unknown) => (value === null ? NaN : value)) as StackSample;
            resolve({ ...sample, engineMiB: engineBytes / MiB });
        });
    });
}

/** Child processes still running, ended if the bench is interrupted. */
const running = new Set<number>();

interface RunRoot {
    stateDir: string;
    outDir: string;
}

function logSample(stack: string, components: number, sample: StackSample): void {
    const times = [["up", sample.upMs], ["preview", sample.previewMs], ["destroy", sample.destroyMs]].filter(([, ms]) => Number.isFinite(ms) && (ms as number) > 0).map(([name, ms]) => `${name} ${((ms as number) / 1000).toFixed(1)} s`);
    process.stderr.write(`  ${stack}: ${components} components, ${sample.resources} resources, ${times.join(", ")}\n`);
}

interface FleetRun {
    /** The app stacks' (or lone stacks') samples. */
    stacks: StackSample[];
    /** The platform stack's, whose objects are not the fleet's. */
    platform?: StackSample;
}

/**
 * One fleet through both variants, stack by stack: program part 1, flat part 1, program part 2 ...
 * so that a change in the machine's load falls on both alike. The program deploys a fleet larger
 * than one stack as docs/fleet.md lays it out: a platform stack first (no apps; it stays up while
 * the app stacks read it, and is destroyed last), then app stacks naming it. The flat baseline has
 * no platform to read: its stacks stand alone.
 */
async function runFleets(root: RunRoot, size: number, checkpoints: Checkpoints, options: BenchOptions, binDir: string, run: number): Promise<Record<Variant, FleetRun>> {
    const parts = splitFleet(size, options.stackSize, COMPONENTS_PER_APP);
    const split = parts.length > 1;
    const base = (variant: Variant) => ({ variant, checkpoints, stateDir: root.stateDir, operations: options.operations, binDir });
    const platformStack = `bench-program-${size}-${checkpoints}-${run}-platform`;
    const platformCase: StackCase = { ...base("program"), stack: platformStack, components: 0, firstApp: 0, workDir: path.join(root.outDir, platformStack), role: "platform", stage: "deploy" };
    const runs: Record<Variant, FleetRun> = { program: { stacks: [] }, flat: { stacks: [] } };
    try {
        if (split) {
            runs.program.platform = await runStack(platformCase);
            logSample(platformStack, 0, runs.program.platform);
        }
        for (const part of parts) {
            for (const variant of VARIANTS) {
                const stack = `bench-${variant}-${size}-${checkpoints}-${run}-${part.index}`;
                const workDir = path.join(root.outDir, stack);
                const app = variant === "program" && split;
                try {
                    const sample = await runStack({ ...base(variant), stack, components: part.components, firstApp: part.firstApp, workDir, role: app ? "app" : "stack", platformStack: app ? platformStack : undefined, stage: "all" });
                    runs[variant].stacks.push(sample);
                    logSample(stack, part.components, sample);
                } finally {
                    fs.rmSync(workDir, { recursive: true, force: true });
                }
            }
        }
    } finally {
        if (split) {
            const destroyed = await runStack({ ...platformCase, stage: "destroy" }).catch((error: unknown) => {
                process.stderr.write(`  ${platformStack}: destroy failed: ${error instanceof Error ? error.message : String(error)}\n`);
                return undefined;
            });
            fs.rmSync(platformCase.workDir, { recursive: true, force: true });
            const platform = runs.program.platform;
            if (platform && destroyed) {
                runs.program.platform = { ...platform, destroyMs: destroyed.destroyMs, programMiB: Math.max(platform.programMiB, destroyed.programMiB), engineMiB: Math.max(platform.engineMiB, destroyed.engineMiB) };
            }
        }
    }
    return runs;
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
        console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((load) => load.toFixed(2)).join(" ")}; real engine, render mode, file backend; envoy mode; stacks of at most ${options.stackSize} components, deployed one after the other (the program's split fleets: a platform stack and app stacks)`);
        for (const checkpoints of options.checkpoints) {
            for (const size of options.sizes) {
                const samples: Record<Variant, { fleet: FleetSample; stacks: StackSample[] }[]> = { program: [], flat: [] };
                for (let run = 0; run < options.runs; run++) {
                    process.stderr.write(`${size} components, checkpoints ${checkpoints}, run ${run + 1}/${options.runs}\n`);
                    const runs = await runFleets(root, size, checkpoints, options, tools.binDir, run);
                    for (const variant of VARIANTS) {
                        const { stacks, platform } = runs[variant];
                        const all = platform ? [platform, ...stacks] : stacks;
                        // The fleet's objects are its apps'; a platform stack's (none in envoy mode) are the platform's.
                        samples[variant].push({ fleet: { ...fleetSample(all), objects: fleetSample(stacks).objects }, stacks: all });
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
    // As `npm run up` runs a stack (cli/command.ts): without Node's source-map translation of the
    // stack traces the SDK takes per promise and per resource, for both variants alike.
    process.setSourceMapsEnabled(false);
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
