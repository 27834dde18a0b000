/**
 * bench/: `npx tsx bench/engineCrash.ts [--components 100] [--at 0.5] [--checkpoints off,on] [--interruptions none,SIGKILL,SIGINT]`. What a crash mid-`up`
 * costs with and without intermediate checkpoints (docs/engine.md, "Checkpoints"): one stack of
 * the bench's envoy fleet in render mode on a file backend; per checkpoint setting, a clean `up`,
 * then an `up` whose engine (the pulumi CLI and its provider) is killed with SIGKILL (a crash: out
 * of memory, power loss) or sent SIGINT (Ctrl-C) once `--at` of the objects are rendered, then
 * `up` again. Reports what the state held after the interruption and what the next `up` did.
 *
 * May import: bench/engine.ts and what it imports; nothing imports it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { Stack, UpResult } from "@pulumi/pulumi/automation";
import { ensureTools } from "../engine/engine";
import { releaseStaleLocks } from "../engine/locks";
import { PROJECT } from "../stacks/config";
import { descendants, fleetObjects, openBenchStack, PROJECT_ROOT, type StackCase } from "./engine";
import type { Checkpoints } from "./engineReport";

type Interruption = "SIGKILL" | "SIGINT";

interface Outcome {
    checkpoints: Checkpoints;
    interruption: Interruption | "none";
    /** Wall time of the (interrupted) up until it returned. */
    upMs: number;
    /** Files in the render folder when the engine was interrupted (all of them for a clean up). */
    renderedAtInterruption: number;
    /** What the state held afterwards. */
    stateResources: number;
    pendingOperations: number;
    /** Whether the interrupted engine left its lock (released before the next up, as `npm run up` does). */
    lockLeft?: boolean;
    /** The message of the interrupted up (first line). */
    interruptedWith?: string;
    /** The next up: its result and time, or its error (first lines). */
    next?: { ok: boolean; ms: number; changes: Record<string, number>; error?: string; stateResources: number; rendered: number };
}

function countFiles(dir: string): number {
    if (!fs.existsSync(dir)) return 0;
    return fs.readdirSync(dir, { withFileTypes: true }).reduce((total, entry) => total + (entry.isDirectory() ? countFiles(path.join(dir, entry.name)) : 1), 0);
}

/** The engine's processes under this one: the pulumi CLI and its provider (comm is cut at 15 characters). */
function engineProcesses(): { cli: number[]; providers: number[] } {
    const comm = (pid: number) => {
        try {
            return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        } catch {
            return "";
        }
    };
    const tree = descendants(process.pid);
    return { cli: tree.filter((pid) => comm(pid) === "pulumi"), providers: tree.filter((pid) => comm(pid).startsWith("pulumi-resource")) };
}

async function state(stack: Stack): Promise<{ resources: number; pending: number }> {
    const deployment = (await stack.exportStack()).deployment ?? {};
    return { resources: (deployment.resources ?? []).length, pending: (deployment.pending_operations ?? []).length };
}

const firstLines = (error: unknown) =>
    (error instanceof Error ? error.message : String(error))
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => /error|lock|pending|interrupt|cancel|signal/i.test(line))
        .slice(0, 4)
        .join(" / ")
        .slice(0, 600);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timedUp(stack: Stack): Promise<{ ms: number; result?: UpResult; error?: unknown }> {
    const start = Date.now();
    try {
        const result = await stack.up({ color: "never" });
        return { ms: Date.now() - start, result };
    } catch (error) {
        return { ms: Date.now() - start, error };
    }
}

async function scenario(base: Omit<StackCase, "stack" | "workDir" | "checkpoints">, checkpoints: Checkpoints, interruption: Interruption | "none", at: number, runDir: string): Promise<Outcome> {
    const name = `crash-${checkpoints}-${interruption}`;
    const spec: StackCase = { ...base, stack: name, checkpoints, workDir: path.join(runDir, name) };
    const { stack, renderDir, config } = await openBenchStack(spec);
    const objects = fleetObjects(config).length;
    try {
        const start = Date.now();
        const up = timedUp(stack);
        let renderedAtInterruption = 0;
        if (interruption !== "none") {
            let done = false;
            void up.then(() => (done = true));
            while (!done && countFiles(renderDir) < objects * at) await sleep(50);
            renderedAtInterruption = countFiles(renderDir);
            const { cli, providers } = engineProcesses();
            if (done || cli.length === 0) throw new Error(`${name}: the up ended before it could be interrupted`);
            if (interruption === "SIGKILL") for (const pid of [...cli, ...providers]) process.kill(pid, "SIGKILL");
            else for (const pid of cli) process.kill(pid, "SIGINT");
        }
        const first = await up;
        const upMs = Date.now() - start;
        if (interruption === "none") {
            if (first.error) throw first.error;
            renderedAtInterruption = countFiles(renderDir);
        }
        const after = await state(stack);
        const outcome: Outcome = { checkpoints, interruption, upMs, renderedAtInterruption, stateResources: after.resources, pendingOperations: after.pending, ...(first.error ? { interruptedWith: firstLines(first.error) } : {}) };
        if (interruption !== "none") {
            // A killed engine leaves its lock in the file backend; `npm run up` deletes it as this does (engine/locks.ts).
            outcome.lockLeft = releaseStaleLocks(base.stateDir, PROJECT, name).length > 0;
            const next = await timedUp(stack);
            const final = await state(stack);
            outcome.next = {
                ok: next.result !== undefined,
                ms: next.ms,
                changes: (next.result?.summary.resourceChanges ?? {}) as Record<string, number>,
                ...(next.error ? { error: firstLines(next.error) } : {}),
                stateResources: final.resources,
                rendered: countFiles(renderDir),
            };
        }
        return outcome;
    } finally {
        await stack.destroy({ color: "never" }).catch((error: unknown) => process.stderr.write(`${name}: destroy failed: ${firstLines(error)}\n`));
        await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
    }
}

async function main(): Promise<void> {
    const { values } = parseArgs({ options: { components: { type: "string", default: "100" }, at: { type: "string", default: "0.5" }, checkpoints: { type: "string", default: "off,on" }, interruptions: { type: "string", default: "none,SIGKILL,SIGINT" } }, strict: true });
    const components = Number(values.components);
    const at = Number(values.at);
    const checkpointSettings = values.checkpoints!.split(",");
    const interruptions = values.interruptions!.split(",");
    if (
        !Number.isInteger(components) ||
        components < 10 ||
        !(at > 0 && at < 1) ||
        !checkpointSettings.every((setting) => setting === "off" || setting === "on") ||
        !interruptions.every((interruption) => ["none", "SIGKILL", "SIGINT"].includes(interruption))
    ) {
        throw new Error("--components: a whole number of at least 10; --at: a fraction between 0 and 1; --checkpoints: off and/or on; --interruptions: none, SIGKILL and/or SIGINT");
    }
    const tools = ensureTools();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-crash-"));
    const runDir = path.join(PROJECT_ROOT, "out", `bench-crash-work-${process.pid}`);
    const outcomes: Outcome[] = [];
    try {
        for (const checkpoints of checkpointSettings as Checkpoints[]) {
            for (const interruption of interruptions as (Interruption | "none")[]) {
                process.stderr.write(`checkpoints ${checkpoints}, ${interruption}...\n`);
                const outcome = await scenario({ variant: "program", components, firstApp: 0, stateDir, binDir: tools.binDir, operations: ["up"], role: "stack", stage: "all" }, checkpoints, interruption, at, runDir);
                process.stderr.write(`${JSON.stringify(outcome)}\n`);
                outcomes.push(outcome);
            }
        }
    } finally {
        fs.rmSync(stateDir, { recursive: true, force: true });
        fs.rmSync(runDir, { recursive: true, force: true });
    }
    const file = path.join(PROJECT_ROOT, "out", `bench-crash-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, `${JSON.stringify({ components, at, loadAverage: os.loadavg(), outcomes }, null, 2)}\n`);
    console.log("| checkpoints | interruption | up s | files rendered | state resources after | pending operations | lock left | next up | next up s | next up changes | state after next up | files after next up |");
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const outcome of outcomes) {
        const next = outcome.next;
        console.log(
            `| ${outcome.checkpoints === "off" ? "skipped" : "written"} | ${outcome.interruption} | ${(outcome.upMs / 1000).toFixed(1)} | ${outcome.renderedAtInterruption} | ${outcome.stateResources} | ${outcome.pendingOperations} | ${outcome.lockLeft === undefined ? "" : outcome.lockLeft ? "yes" : "no"} | ` +
                (next ? `${next.ok ? "succeeded" : `failed: ${next.error}`} | ${(next.ms / 1000).toFixed(1)} | ${JSON.stringify(next.changes)} | ${next.stateResources} | ${next.rendered} |` : "| | | | |"),
        );
        if (outcome.interruptedWith) console.log(`<!-- ${outcome.checkpoints}/${outcome.interruption}: ${outcome.interruptedWith} -->`);
    }
    console.log(`\nwritten: ${path.relative(process.cwd(), file)}`);
}

main().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
});
