import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { ensureTools, loggedIn, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../engine/engine";
import { planProjectSet } from "../engine/stackSetFiles";
import { parseCommandLine, runCommand, UsageError } from "./command";
import { affectedStacks, changesFromEvents, configErrorOf, exitCodeOf, previewOrder, renderReport, stacksAt, verdictOf, violationsFromEvents, type AffectedStack, type StackFiles, type StackReport, type Verdict } from "./prReport";

/**
 * `npm run pr-preview -- --base <git ref> [--allow-blocking] [--no-policy] [--out <file>]`
 *
 * Works out which stacks a change can affect and, for each, runs the real engine: against the
 * team's backend when the stack exists there (a preview of the working tree against what is
 * deployed), otherwise self-contained (an `up` of the base revision from a scratch worktree into a
 * scratch backend in render mode, then a preview of the working tree against it). Writes one
 * Markdown report. Replacements and deletions that lose data or cut traffic are listed first as
 * blocking and make the command exit 1 unless allowed (`--allow-blocking`, or
 * `PR_PREVIEW_ALLOW_BLOCKING=true`, which the workflow sets from a pull-request label). The head's
 * preview runs the policy pack (policy/) with the stack's policy config; its findings are shown per
 * stack above the diff, and a mandatory one makes the command exit 1 whatever the label says.
 *
 * This file does the git and engine work; what it computes from their output is in prReport.ts.
 */

function git(args: string[], cwd = PROJECT_ROOT): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function gitShow(ref: string, file: string): string | undefined {
    try {
        return git(["show", `${ref}:${file}`]);
    } catch {
        return undefined;
    }
}

/** Files changed between the base (its merge base with HEAD) and the working tree, untracked ones included. */
export function changedFiles(base: string): string[] {
    const tracked = git(["diff", "--name-only", base]).split("\n");
    const untracked = git(["ls-files", "--others", "--exclude-standard"]).split("\n");
    return [...new Set([...tracked, ...untracked].filter((file) => file.length > 0))].sort();
}

/** Render mode for both revisions, into the same directory: a different provider config would replace every resource. */
function renderOverrides(baseCheckout: () => string, stack: string): Record<string, unknown> {
    // Config paths must stay inside the project that runs: inside the base checkout, which itself
    // lies inside this project (under out/), the one folder serves both revisions.
    return { "pluggable-mesh:kubernetes": { renderYamlToDirectory: path.join(baseCheckout(), ".rendered", stack) } };
}

/** The stack in the team's backend (PULUMI_BACKEND_URL or a `pulumi login`), when it is deployed there. */
async function teamStack(stack: string, tools: Tools, policy: boolean): Promise<EngineStack | undefined> {
    if (!process.env.PULUMI_BACKEND_URL && !loggedIn()) return undefined;
    try {
        const opened = await openStack(stack, tools, { stateDir: path.join(PROJECT_ROOT, ".pulumi-state"), policy });
        const exported = await opened.guard(() => opened.stack.exportStack());
        return (exported.deployment?.resources ?? []).length > 0 ? opened : undefined;
    } catch {
        return undefined;
    }
}

/** What a stack's preview in the scratch backend reads from another stack there, and where that came from. */
type Supplied = { from: "base" | "head" } | { error: string };

/** Where a self-contained preview runs: one scratch backend for every stack, so app stacks' StackReferences find their platform. */
interface Scratch {
    baseCheckout: () => string;
    stateDir: string;
    tools: Tools;
}

/** `up` of one revision's stack into the scratch backend (render mode); the error text when it does not deploy. */
async function upInScratch(stack: string, revision: "base" | "head", scratch: Scratch): Promise<string | undefined> {
    const root = revision === "base" ? scratch.baseCheckout() : PROJECT_ROOT;
    try {
        const opened = await openStack(stack, scratch.tools, { stateDir: scratch.stateDir, root, overrides: renderOverrides(scratch.baseCheckout, stack), policy: false });
        await opened.guard(() => opened.stack.up({ configFile: opened.configFile }));
        return undefined;
    } catch (error) {
        return configErrorOf(String((error as Error).message));
    }
}

/**
 * What the report says about the stacks an app stack's preview reads (its platform, the stacks its
 * apps call): where their outputs came from, and that they are not this change's when the change
 * touches them too. A needed stack that did not deploy is the preview's error.
 */
function readNotes(stack: string, needs: readonly string[], supplied: ReadonlyMap<string, Supplied>, changed: ReadonlySet<string>, base: string, team: boolean): { notes: string[]; error?: string } {
    const notes: string[] = [];
    for (const needed of needs) {
        const also = changed.has(needed) ? `; ${needed} itself changes in this pull request, so this preview reads its outputs as they are before this change, not after: preview again once ${needed} is deployed` : "";
        if (team) {
            notes.push(`${stack} reads the outputs of ${needed} as deployed in the team's backend${also}`);
            continue;
        }
        const source = supplied.get(needed);
        if (source === undefined) continue;
        if ("error" in source) return { notes, error: `stack ${needed}, whose outputs ${stack} reads, does not deploy, so there is nothing to read:\n${source.error}` };
        notes.push(
            source.from === "base"
                ? `${stack} reads the outputs of ${needed} from ${base}'s ${needed}, deployed into the same scratch backend${also}`
                : `${needed} is new in this change: ${stack} reads its outputs from an \`up\` of this change's ${needed} into the scratch backend`,
        );
    }
    return { notes };
}

/** The report of a stack whose set the planner refused: nothing ran. */
function planFailure(target: AffectedStack, error: string): StackReport {
    return { stack: target.stack, reason: target.reason, how: "not previewed", changes: [], counts: {}, diffText: "", error };
}

/**
 * Previews one stack: against the team's backend when it is deployed there, otherwise in the
 * scratch backend after an `up` of its base revision. Returns the report and, when its base was
 * deployed into the scratch backend, that (other stacks' previews then read it).
 */
async function previewStack(
    target: AffectedStack,
    base: string,
    scratch: Scratch,
    context: { needs: string[]; supplied: ReadonlyMap<string, Supplied>; changed: ReadonlySet<string>; policy: boolean },
): Promise<{ report: StackReport; scratchBase?: Supplied }> {
    const events: EngineEvent[] = [];
    const output: string[] = [];
    let policyRan = false;
    const report = (how: string, extra: Partial<StackReport> = {}): StackReport => {
        const changes = changesFromEvents(events);
        const counts: Record<string, number> = {};
        for (const change of changes) counts[change.op] = (counts[change.op] ?? 0) + 1;
        const violations = policyRan ? { violations: violationsFromEvents(events) } : {};
        return { stack: target.stack, reason: target.reason, how, changes, counts, diffText: output.join(""), ...violations, ...extra };
    };
    const only = (stackReport: StackReport) => ({ report: stackReport });
    if (!fs.existsSync(path.join(PROJECT_ROOT, `Pulumi.${target.stack}.yaml`))) {
        return only(report("not previewed", { error: `Pulumi.${target.stack}.yaml is deleted by this change; the stack's resources stay until someone runs \`pulumi destroy\` on it` }));
    }
    let head = await teamStack(target.stack, scratch.tools, context.policy);
    let how = "preview against the team's backend";
    const read = readNotes(target.stack, context.needs, context.supplied, context.changed, base, head !== undefined);
    const notes = read.notes.length > 0 ? { notes: read.notes } : {};
    let scratchBase: Supplied | undefined;
    if (!head) {
        how = `self-contained: \`up\` of ${base} in render mode, then a preview of this change`;
        if (read.error) return only(report(how, { ...notes, error: read.error }));
        if (gitShow(base, `Pulumi.${target.stack}.yaml`) !== undefined) {
            // The base is only what the change is compared with: the policy pack judges the head alone.
            const failed = await upInScratch(target.stack, "base", scratch);
            scratchBase = failed === undefined ? { from: "base" } : { error: failed };
            if (failed) return { report: report(how, { ...notes, error: `the base revision itself does not deploy, so there is nothing to compare with:\n${failed}` }), scratchBase };
        } else {
            how = "self-contained: a new stack, previewed against an empty state";
        }
        head = await openStack(target.stack, scratch.tools, { stateDir: scratch.stateDir, overrides: renderOverrides(scratch.baseCheckout, target.stack), policy: context.policy });
    }
    const opened = head;
    policyRan = opened.policy.policyPacks !== undefined;
    try {
        await opened.guard(() => opened.stack.preview({ configFile: opened.configFile, diff: true, color: "never", onEvent: (event) => events.push(event), onOutput: (line) => output.push(line), ...opened.policy }));
    } catch (error) {
        // A mandatory policy fails the preview; its findings are the report, not an error.
        const failedOnPolicy = violationsFromEvents(events).some((violation) => violation.level === "mandatory");
        if (!failedOnPolicy) return { report: report(how, { ...notes, error: configErrorOf(`${output.join("")}\n${(error as Error).message}`) }), scratchBase };
    }
    return { report: report(how, { ...notes, validation: validateHead(target.stack) }), scratchBase };
}

/** Runs `npm run validate` for the stack in its own process (it uses the SDK's mock runtime, this process the real engine). */
function validateHead(stack: string): { ok: boolean; summary: string } {
    const result = spawnSync(process.execPath, [...process.execArgv, path.join(PROJECT_ROOT, "cli", "validate.ts"), "--stack", stack], { cwd: PROJECT_ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { ok: result.status === 0, summary: `${result.stdout ?? ""}${result.status === 0 ? "" : result.stderr ?? ""}`.trim() };
}

export interface PrPreviewResult extends Verdict {
    markdown: string;
    reports: StackReport[];
}

/**
 * The stacks a stack needs deployed before its preview can run (its platform, the stacks its apps
 * call; engine/stackSet.ts), from the head's stack files, or the planner's message when the set's
 * references are wrong. A stack that names no platform and no peers needs none (single stacks stay
 * as they were).
 */
function needsAtHead(stack: string, head: ReadonlyMap<string, StackFiles>): { needs: string[]; error?: string } {
    const files = head.get(stack);
    if (!files || (files.platformStack === undefined && (files.peerStacks ?? []).length === 0)) return { needs: [] };
    try {
        // Stacks elsewhere (org/project/stack) are read by the program from wherever they live.
        return { needs: planProjectSet(stack).stacks.get(stack)!.needs.filter((needed) => !needed.includes("/")) };
    } catch (error) {
        return { needs: [], error: (error as Error).message };
    }
}

export async function prPreview(base: string, allowBlocking: boolean, policy = true): Promise<PrPreviewResult> {
    const mergeBase = git(["merge-base", base, "HEAD"]).trim();
    const changed = changedFiles(mergeBase);
    const headStacks = stacksAt(fs.readdirSync(PROJECT_ROOT), (file) => (fs.existsSync(path.join(PROJECT_ROOT, file)) ? fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8") : undefined));
    const baseStacks = stacksAt(git(["ls-tree", "--name-only", mergeBase]).split("\n"), (file) => gitShow(mergeBase, file));
    const targets = affectedStacks(changed, headStacks, baseStacks);
    const reports: StackReport[] = [];
    if (targets.length > 0) {
        const planned = new Map<string, ReturnType<typeof needsAtHead>>();
        const plannedOf = (stack: string) => planned.get(stack) ?? planned.set(stack, needsAtHead(stack, headStacks)).get(stack)!;
        const needsOf = (stack: string) => plannedOf(stack).needs;
        const order = previewOrder(targets.map((target) => target.stack), needsOf);
        const tools = ensureTools();
        // Inside the project (out/ is git-ignored): render paths in config may not leave it.
        fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
        const scratchDir = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", "pr-preview-"));
        let checkout: string | undefined;
        const baseCheckout = () => {
            if (!checkout) {
                checkout = path.join(scratchDir, "worktree");
                git(["worktree", "add", "--detach", checkout, mergeBase]);
                // The base revision runs with this checkout's packages: one Pulumi SDK in the process.
                if (!fs.existsSync(path.join(checkout, "node_modules"))) fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(checkout, "node_modules"), "dir");
            }
            return checkout;
        };
        const scratch: Scratch = { baseCheckout, stateDir: path.join(scratchDir, "state"), tools };
        const byName = new Map(targets.map((target) => [target.stack, target]));
        const supplied = new Map<string, Supplied>();
        const neededLater = (index: number, stack: string) => order.slice(index + 1).some((later) => byName.has(later) && needsOf(later).includes(stack));
        try {
            for (const [index, stack] of order.entries()) {
                const target = byName.get(stack);
                let deployedBase: Supplied | undefined;
                if (target) {
                    const { error, needs } = plannedOf(stack);
                    const preview = error ? { report: planFailure(target, error) } : await previewStack(target, base, scratch, { needs, supplied, changed: new Set(byName.keys()), policy });
                    reports.push(preview.report);
                    deployedBase = preview.scratchBase;
                }
                if (!neededLater(index, stack)) continue;
                // A stack other previews read: the base's, as deployed (a target's own preview may have deployed it), else this change's.
                const atBase = gitShow(mergeBase, `Pulumi.${stack}.yaml`) !== undefined;
                if (deployedBase) {
                    supplied.set(stack, deployedBase);
                } else {
                    const failed = await upInScratch(stack, atBase ? "base" : "head", scratch);
                    supplied.set(stack, failed === undefined ? { from: atBase ? "base" : "head" } : { error: failed });
                }
            }
        } finally {
            if (checkout) git(["worktree", "remove", "--force", checkout]);
            fs.rmSync(scratchDir, { recursive: true, force: true });
        }
    }
    return { markdown: renderReport(base, reports, allowBlocking), reports, ...verdictOf(reports) };
}

const COMMAND = {
    usage: `usage: npm run pr-preview -- --base <git ref> [--allow-blocking] [--no-policy] [--out <file>] [--json <file>]
  --base <git ref>   the branch the change will merge into, e.g. origin/main
  --allow-blocking   exit 0 even when data-losing replacements or deletions are listed
  --no-policy        preview without the policy pack (policy/, docs/policy.md)
  --out <file>       the Markdown report (default: out/pr-preview.md)
  --json <file>      the same report as JSON
Exits 1 when a preview failed, a validator failed, a mandatory policy is violated or a blocking change is not allowed.`,
    options: { base: { type: "string" }, out: { type: "string" }, json: { type: "string" }, "allow-blocking": { type: "boolean", default: false }, "no-policy": { type: "boolean", default: false } },
} as const;

async function main(argv: readonly string[]): Promise<number> {
    const { values } = parseCommandLine(COMMAND, argv);
    if (!values.base) throw new UsageError("--base <git ref> is required (the branch the change will merge into, e.g. origin/main)");
    const allowed = values["allow-blocking"]! || process.env.PR_PREVIEW_ALLOW_BLOCKING === "true";
    const result = await prPreview(values.base, allowed, !values["no-policy"]);
    const out = path.resolve(values.out ?? path.join(PROJECT_ROOT, "out", "pr-preview.md"));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, result.markdown);
    for (const report of result.reports) fs.writeFileSync(path.join(path.dirname(out), `pr-preview-${report.stack}.diff`), report.diffText);
    const { markdown: _markdown, reports, ...verdict } = result;
    if (values.json) fs.writeFileSync(path.resolve(values.json), `${JSON.stringify({ reports: reports.map(({ diffText: _diffText, ...report }) => report), ...verdict }, null, 2)}\n`);
    process.stdout.write(result.markdown);
    console.error(
        `pr-preview: ${reports.length} stack(s) previewed, ${verdict.blocking} blocking change(s)${allowed ? " (allowed)" : ""}, ${verdict.mandatory} mandatory policy violation(s), ${verdict.failed} failed; report in ${out}`,
    );
    return exitCodeOf(verdict, allowed);
}

if (require.main === module) runCommand(COMMAND, main);
