import { fork } from "node:child_process";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { linePrefixer, type StackOutcome } from "./orchestrate";

/**
 * One stack of a set in a child process of its own: the Automation API's inline programs keep
 * the Pulumi runtime's state in globals, so two stacks must never run in one Node process. The
 * child is the same command with `--only`; it reports its outcome over the IPC channel, and its
 * output reaches the terminal line by line behind the stack's name.
 */

/** The message a child sends its parent at the end of a successful run. */
interface OutcomeMessage {
    kind: "pluggable-mesh:stack-outcome";
    changes: number;
    peersChanged: boolean;
}

function isOutcome(message: unknown): message is OutcomeMessage {
    return (message as OutcomeMessage | undefined)?.kind === "pluggable-mesh:stack-outcome";
}

/** Whether this process runs one stack for a parent (forked with an IPC channel). */
export function runsForParent(): boolean {
    return typeof process.send === "function";
}

/** In a child: tells the parent how the run went (before the process exits). */
export function reportToParent(outcome: Omit<StackOutcome, "ok">): Promise<void> {
    const message: OutcomeMessage = { kind: "pluggable-mesh:stack-outcome", ...outcome };
    return new Promise((resolve) => (runsForParent() ? process.send!(message, () => resolve()) : resolve()));
}

/**
 * Whether an `up`'s events show the stack's `peers` output changed: the root Stack resource's
 * outputs event carries the old and the new outputs. Undefined when the events do not say (then
 * the caller falls back on whether anything changed).
 */
export function peersChangedIn(events: readonly EngineEvent[]): boolean | undefined {
    const stack = events.map((event) => event.resOutputsEvent?.metadata).find((metadata) => metadata?.type === "pulumi:pulumi:Stack");
    if (!stack) return undefined;
    return JSON.stringify(stack.old?.outputs?.peers ?? null) !== JSON.stringify(stack.new?.outputs?.peers ?? null);
}

export interface ChildStackRun {
    /** The command script (cli/stack.ts), run with this process's Node options (tsx). */
    script: string;
    args: readonly string[];
    cwd: string;
    /** Put before every line of the child's output. */
    prefix: string;
    stdout: (text: string) => void;
    stderr: (text: string) => void;
}

/** Runs the child and resolves with its outcome; a child that failed (or never reported) is `ok: false`. */
export function runChildStack(run: ChildStackRun): Promise<StackOutcome> {
    return new Promise((resolve) => {
        const child = fork(run.script, [...run.args], { cwd: run.cwd, execArgv: process.execArgv, stdio: ["ignore", "pipe", "pipe", "ipc"] });
        const out = linePrefixer(run.prefix, run.stdout);
        const err = linePrefixer(run.prefix, run.stderr);
        child.stdout!.setEncoding("utf8").on("data", out.push);
        child.stderr!.setEncoding("utf8").on("data", err.push);
        let outcome: OutcomeMessage | undefined;
        child.on("message", (message) => {
            if (isOutcome(message)) outcome = message;
        });
        const failed = (text: string) => {
            err.push(`${text}\n`);
            resolve({ ok: false, changes: 0, peersChanged: false });
        };
        child.on("error", (error) => failed(`error: could not start the stack's process: ${error.message}`));
        child.on("close", (code) => {
            out.flush();
            err.flush();
            if (code === 0 && outcome) resolve({ ok: true, changes: outcome.changes, peersChanged: outcome.peersChanged });
            else if (code === 0) failed("internal error: the stack's process ended without reporting its outcome");
            else resolve({ ok: false, changes: 0, peersChanged: false });
        });
    });
}
