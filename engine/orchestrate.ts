import type { OpMap } from "@pulumi/pulumi/automation";
import { UserError } from "./errors";
import { dependentsOf, destroyLevels, runOrder, type StackSetPlan } from "./stackSet";

/**
 * Runs an operation over a planned set of stacks (engine/stackSet.ts): `up` and `preview` start a
 * stack once every stack of the set it needs has succeeded, `destroy` once every stack of the set
 * that needs it is gone, at most `parallel` at once; a stack whose prerequisite failed is not
 * started. After `up`, a stack that read the `peers` of a stack whose peers then changed runs
 * again (the second pass of docs/fleet.md). How one stack runs is given (a child process per
 * stack in cli/stack.ts: the Automation API's inline programs keep global state, so two stacks
 * never share a Node process), so this file is tested with fakes.
 */

export type Operation = "up" | "preview" | "destroy";

/** What one stack's run reports. */
export interface StackOutcome {
    ok: boolean;
    /** Resources created, updated, replaced or deleted (or, in a preview, that would be). */
    changes: number;
    /** Whether the stack's `peers` output changed (stacks reading them then run again). */
    peersChanged: boolean;
}

export interface StackRunRecord {
    stack: string;
    operation: Operation;
    /** 2 for the second pass of `up`. */
    pass: 1 | 2;
    result: "ok" | "failed" | "skipped";
    changes?: number;
    seconds?: number;
    /** Why a stack was skipped or ran again. */
    note?: string;
    /** Milliseconds (of `now`) when it started and ended; the second pass compares them. */
    startedAt?: number;
    endedAt?: number;
    peersChanged?: boolean;
}

export interface SetRunOptions {
    operation: Operation;
    /** Most stacks running at once (at least 1). */
    parallel: number;
    /** Runs one stack; `why` says why (the second pass). Resolves, never rejects, for a stack that failed. */
    run: (stack: string, operation: Operation, why?: string) => Promise<StackOutcome>;
    /** Whether a stack has a deployment (its state lists resources). Asked only for stacks others need. */
    deployed: (stack: string) => Promise<boolean>;
    /** Progress lines of the orchestrator itself. */
    log: (line: string) => void;
    /** @default Date.now */
    now?: () => number;
}

/** Resources an operation touched: every step but `same` and reads. */
export function changesOf(summary: OpMap | undefined): number {
    const unchanged = new Set(["same", "read", "refresh"]);
    return Object.entries(summary ?? {}).reduce((sum, [op, count]) => (unchanged.has(op) ? sum : sum + (count ?? 0)), 0);
}

/** The command that deploys a stack (and its set, for a platform). */
export const upCommand = (stack: string) => `npm run up -- --stack ${stack}`;


/** Stacks `plan` needs from outside the set (or, for a preview, at all) that have no deployment. */
async function undeployedNeeds(plan: StackSetPlan, options: SetRunOptions): Promise<Map<string, string[]>> {
    const members = new Set(runOrder(plan));
    const answers = new Map<string, Promise<boolean>>();
    const deployed = (stack: string) => answers.get(stack) ?? answers.set(stack, options.deployed(stack)).get(stack)!;
    const missing = new Map<string, string[]>();
    for (const stack of runOrder(plan)) {
        // Stacks elsewhere (org/project/stack) are the program's to check: it reads them itself.
        const needs = plan.stacks.get(stack)!.needs.filter((needed) => !needed.includes("/") && (options.operation === "preview" || !members.has(needed)));
        const absent: string[] = [];
        for (const needed of needs) if (!(await deployed(needed))) absent.push(needed);
        if (absent.length > 0) missing.set(stack, absent);
    }
    return missing;
}

/** What to say when stacks that `stack` reads have no deployment, and what to run. */
export function undeployedMessage(plan: StackSetPlan, stack: string, absent: readonly string[]): string {
    const platform = plan.stacks.get(stack)!.platform;
    const what = absent.map((needed) => `${needed} (${needed === platform ? "its platform" : "its apps call apps it deploys"})`).join(" and ");
    return `stack ${stack} reads the outputs of ${what}, which ${absent.length === 1 ? "has" : "have"} no deployment; run ${absent.map((needed) => `\`${upCommand(needed)}\``).join(" and ")} first`;
}

/** Runs `tasks` by readiness: `ready(stack)` true starts it, a string skips it with that note. */
async function schedule(
    order: readonly string[],
    parallel: number,
    decide: (stack: string, records: ReadonlyMap<string, StackRunRecord>) => true | false | string,
    start: (stack: string) => Promise<StackRunRecord>,
    skip: (stack: string, note: string) => StackRunRecord,
): Promise<Map<string, StackRunRecord>> {
    const records = new Map<string, StackRunRecord>();
    const running = new Map<string, Promise<void>>();
    const waiting = [...order];
    while (waiting.length > 0 || running.size > 0) {
        for (const stack of [...waiting]) {
            const decision = decide(stack, records);
            if (decision === false) continue;
            if (typeof decision === "string") {
                records.set(stack, skip(stack, decision));
                waiting.splice(waiting.indexOf(stack), 1);
                continue;
            }
            if (running.size >= parallel) continue;
            waiting.splice(waiting.indexOf(stack), 1);
            running.set(
                stack,
                start(stack).then((record) => {
                    records.set(stack, record);
                    running.delete(stack);
                }),
            );
        }
        if (running.size > 0) await Promise.race(running.values());
        else if (waiting.length > 0 && waiting.every((stack) => decide(stack, records) === false)) {
            // Cannot happen with a planned (acyclic) set; a guard against waiting forever.
            throw new Error(`stacks ${waiting.join(", ")} wait on each other`);
        }
    }
    return records;
}

/**
 * Runs the operation over the set and returns one record per run, in the order they were decided
 * (second-pass runs last). A stack the set needs from outside that has no deployment stops `up`
 * before anything runs (a UserError saying what to run); a preview skips the stacks that read
 * outputs no one deployed yet.
 */
export async function runStackSet(plan: StackSetPlan, options: SetRunOptions): Promise<StackRunRecord[]> {
    const now = options.now ?? Date.now;
    const { operation } = options;
    const missing = operation === "destroy" ? new Map<string, string[]>() : await undeployedNeeds(plan, options);
    if (operation === "up" && missing.size > 0) {
        throw new UserError([...missing].map(([stack, absent]) => undeployedMessage(plan, stack, absent)).join("; "));
    }
    const runOne = async (stack: string, pass: 1 | 2, why?: string): Promise<StackRunRecord> => {
        const startedAt = now();
        const outcome = await options.run(stack, operation, why);
        const endedAt = now();
        return {
            stack,
            operation,
            pass,
            result: outcome.ok ? "ok" : "failed",
            ...(outcome.ok ? { changes: outcome.changes } : {}),
            seconds: (endedAt - startedAt) / 1000,
            startedAt,
            endedAt,
            peersChanged: outcome.ok && outcome.peersChanged,
            ...(why ? { note: why } : {}),
        };
    };
    const skip = (stack: string, note: string): StackRunRecord => {
        options.log(`${stack}: not started: ${note}`);
        return { stack, operation, pass: 1, result: "skipped", note };
    };
    const members = new Set(runOrder(plan));
    const firstPass =
        operation === "destroy"
            ? await schedule(
                  destroyLevels(plan).flat(),
                  options.parallel,
                  (stack, records) => {
                      const after = dependentsOf(plan, stack);
                      const notGone = after.filter((other) => records.has(other) && records.get(other)!.result !== "ok");
                      if (notGone.length > 0) return `${notGone.join(", ")}, which ${notGone.length === 1 ? "needs" : "need"} it, ${notGone.length === 1 ? "was" : "were"} not destroyed`;
                      return after.every((other) => records.has(other));
                  },
                  (stack) => runOne(stack, 1),
                  skip,
              )
            : await schedule(
                  runOrder(plan),
                  options.parallel,
                  (stack, records) => {
                      if (missing.has(stack)) return undeployedMessage(plan, stack, missing.get(stack)!);
                      const needs = plan.stacks.get(stack)!.needs.filter((needed) => members.has(needed));
                      const failed = needs.filter((needed) => records.has(needed) && records.get(needed)!.result !== "ok");
                      if (failed.length > 0) return `it needs ${failed.join(", ")}, which ${failed.length === 1 ? "was" : "were"} not ${operation === "up" ? "deployed" : "previewed"}`;
                      return needs.every((needed) => records.has(needed));
                  },
                  (stack) => runOne(stack, 1),
                  skip,
              );
    // In the order the stacks were planned, whatever order they finished in.
    const records = (operation === "destroy" ? destroyLevels(plan).flat() : runOrder(plan)).map((stack) => firstPass.get(stack)!);
    if (operation !== "up") return records;
    const again = secondPass(plan, firstPass);
    if (again.size === 0) return records;
    for (const [stack, why] of again) options.log(`${stack}: runs again: ${why}`);
    const secondRecords = await schedule([...again.keys()], options.parallel, () => true, (stack) => runOne(stack, 2, again.get(stack)), skip);
    return [...records, ...[...again.keys()].map((stack) => secondRecords.get(stack)!)];
}

/**
 * The stacks to run again after `up`, each with why: a stack that lists X in its peerStacks and
 * started before X finished read X's old `peers`; when X's peers changed, it runs again to admit
 * (or stop admitting) X's apps. A no-change run has none.
 */
export function secondPass(plan: StackSetPlan, records: ReadonlyMap<string, StackRunRecord>): Map<string, string> {
    const again = new Map<string, string>();
    for (const [stack, record] of records) {
        if (record.result !== "ok") continue;
        const changed = plan.stacks
            .get(stack)!
            .peers.filter((peer) => {
                const other = records.get(peer);
                return other?.result === "ok" && other.peersChanged && other.endedAt! > record.startedAt!;
            })
            .sort();
        if (changed.length > 0) {
            again.set(stack, `it read the peers of ${changed.join(", ")} before ${changed.length === 1 ? "that stack's" : "their"} apps changed, so it runs again to admit exactly the callers deployed now`);
        }
    }
    return again;
}

/** The summary table printed at the end: stack, operation, result, changes, seconds (and a note). */
export function summaryTable(records: readonly StackRunRecord[]): string {
    const rows = [
        ["stack", "operation", "result", "changes", "seconds", ""],
        ...records.map((record) => [
            record.stack,
            record.pass === 2 ? `${record.operation} (again)` : record.operation,
            record.result,
            record.changes === undefined ? "-" : String(record.changes),
            record.seconds === undefined ? "-" : record.seconds.toFixed(1),
            record.result === "skipped" ? (record.note ?? "") : "",
        ]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()).join("\n");
}

/** Exit code of a set run: 1 when any stack failed or was not started because another failed. */
export function exitCodeOfSet(records: readonly StackRunRecord[]): number {
    return records.some((record) => record.result === "failed") ? 1 : 0;
}

/** Prefixes each complete line of a stream with the stack's name; `flush` writes what is left. */
export function linePrefixer(prefix: string, write: (text: string) => void): { push: (chunk: string) => void; flush: () => void } {
    let pending = "";
    return {
        push(chunk) {
            pending += chunk;
            const lines = pending.split("\n");
            pending = lines.pop()!;
            for (const line of lines) write(`${prefix}${line}\n`);
        },
        flush() {
            if (pending.length > 0) write(`${prefix}${pending}\n`);
            pending = "";
        },
    };
}
