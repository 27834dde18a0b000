import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { ensureTools, loggedIn, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../engine/engine";
import { parseCommandLine, runCommand, UsageError } from "./command";
import { affectedStacks, changesFromEvents, configErrorOf, exitCodeOf, renderReport, stacksAt, verdictOf, violationsFromEvents, type AffectedStack, type StackReport, type Verdict } from "./prReport";

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

async function previewStack(target: AffectedStack, base: string, baseCheckout: () => string, scratch: string, tools: Tools, policy: boolean): Promise<StackReport> {
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
    if (!fs.existsSync(path.join(PROJECT_ROOT, `Pulumi.${target.stack}.yaml`))) {
        return report("not previewed", { error: `Pulumi.${target.stack}.yaml is deleted by this change; the stack's resources stay until someone runs \`pulumi destroy\` on it` });
    }
    let head = await teamStack(target.stack, tools, policy);
    let how = "preview against the team's backend";
    if (!head) {
        const stateDir = path.join(scratch, "state", target.stack);
        how = `self-contained: \`up\` of ${base} in render mode, then a preview of this change`;
        if (gitShow(base, `Pulumi.${target.stack}.yaml`) !== undefined) {
            const root = baseCheckout();
            // The base is only what the change is compared with: the policy pack judges the head alone.
            const baseStack = await openStack(target.stack, tools, { stateDir, root, overrides: renderOverrides(baseCheckout, target.stack), policy: false });
            try {
                await baseStack.guard(() => baseStack.stack.up({ configFile: baseStack.configFile }));
            } catch (error) {
                return report(how, { error: `the base revision itself does not deploy, so there is nothing to compare with:\n${configErrorOf(String((error as Error).message))}` });
            }
        } else {
            how = "self-contained: a new stack, previewed against an empty state";
        }
        head = await openStack(target.stack, tools, { stateDir, overrides: renderOverrides(baseCheckout, target.stack), policy });
    }
    const opened = head;
    policyRan = opened.policy.policyPacks !== undefined;
    try {
        await opened.guard(() => opened.stack.preview({ configFile: opened.configFile, diff: true, color: "never", onEvent: (event) => events.push(event), onOutput: (line) => output.push(line), ...opened.policy }));
    } catch (error) {
        // A mandatory policy fails the preview; its findings are the report, not an error.
        const failedOnPolicy = violationsFromEvents(events).some((violation) => violation.level === "mandatory");
        if (!failedOnPolicy) return report(how, { error: configErrorOf(`${output.join("")}\n${(error as Error).message}`) });
    }
    return report(how, { validation: validateHead(target.stack) });
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

export async function prPreview(base: string, allowBlocking: boolean, policy = true): Promise<PrPreviewResult> {
    const mergeBase = git(["merge-base", base, "HEAD"]).trim();
    const changed = changedFiles(mergeBase);
    const headStacks = stacksAt(fs.readdirSync(PROJECT_ROOT), (file) => (fs.existsSync(path.join(PROJECT_ROOT, file)) ? fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8") : undefined));
    const baseStacks = stacksAt(git(["ls-tree", "--name-only", mergeBase]).split("\n"), (file) => gitShow(mergeBase, file));
    const targets = affectedStacks(changed, headStacks, baseStacks);
    const reports: StackReport[] = [];
    if (targets.length > 0) {
        const tools = ensureTools();
        // Inside the project (out/ is git-ignored): render paths in config may not leave it.
        fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
        const scratch = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", "pr-preview-"));
        let checkout: string | undefined;
        const baseCheckout = () => {
            if (!checkout) {
                checkout = path.join(scratch, "worktree");
                git(["worktree", "add", "--detach", checkout, mergeBase]);
                // The base revision runs with this checkout's packages: one Pulumi SDK in the process.
                if (!fs.existsSync(path.join(checkout, "node_modules"))) fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(checkout, "node_modules"), "dir");
            }
            return checkout;
        };
        try {
            for (const target of targets) reports.push(await previewStack(target, base, baseCheckout, scratch, tools, policy));
        } finally {
            if (checkout) git(["worktree", "remove", "--force", checkout]);
            fs.rmSync(scratch, { recursive: true, force: true });
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
