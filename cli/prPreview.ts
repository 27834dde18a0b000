import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { ensureTools, loggedIn, openStack, PROJECT_ROOT, type EngineStack, type Tools } from "../engine/engine";
import { parseStackFile } from "../engine/stackFile";
import { parseCommandLine, runCommand, UsageError } from "./command";

/**
 * `npm run pr-preview -- --base <git ref> [--allow-blocking] [--out <file>]`
 *
 * Works out which stacks a change can affect and, for each, runs the real engine: against the
 * team's backend when the stack exists there (a preview of the working tree against what is
 * deployed), otherwise self-contained (an `up` of the base revision from a scratch worktree into a
 * scratch backend in render mode, then a preview of the working tree against it). Writes one
 * Markdown report. Replacements and deletions that lose data or cut traffic are listed first as
 * blocking and make the command exit 1 unless allowed (`--allow-blocking`, or
 * `PR_PREVIEW_ALLOW_BLOCKING=true`, which the workflow sets from a pull-request label).
 */

/** Files whose change can alter every stack: the program, its dependencies, the config schema. */
const GLOBAL_PATTERNS = [/^index\.ts$/, /^program\.ts$/, /^Pulumi\.yaml$/, /^package(-lock)?\.json$/, /^tsconfig\.json$/, /^components\//, /^stacks\/.*\.ts$/];
const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;

/** Kinds whose replacement or deletion loses data or takes everything inside along. */
export const BLOCKING_KINDS = new Set(["StatefulSet", "PersistentVolumeClaim", "Namespace", "CustomResourceDefinition", "Service"]);
/** Operations that recreate or remove an object. */
export const DESTRUCTIVE_OPS = new Set(["replace", "create-replacement", "delete-replaced", "delete", "discard", "discard-replaced"]);
/** When one resource has several steps (a replacement has three), the one shown. */
const OP_RANK = ["same", "read", "refresh", "import", "update", "create", "create-replacement", "delete-replaced", "discard", "discard-replaced", "delete", "replace"];

export interface StackFiles {
    /** App spec files the stack lists, normalized to repository paths. */
    specs: string[];
}

export interface AffectedStack {
    stack: string;
    reason: string;
}

/** Reads the app spec paths a stack file lists; `label` names the file in a parse error. */
export function specsOfStackFile(text: string | undefined, label = "the stack file"): string[] {
    if (text === undefined) return [];
    const apps = parseStackFile(text, label).config["pluggable-mesh:apps"];
    if (!Array.isArray(apps)) return [];
    return apps.map((entry) => (entry as { spec?: unknown }).spec).filter((spec): spec is string => typeof spec === "string").map((spec) => path.posix.normalize(spec));
}

/**
 * Which stacks a set of changed files can affect. A stack's own file or any app spec it lists (at
 * the base or the head) affects it; the program, its dependencies and the schema affect all stacks.
 */
export function affectedStacks(changed: readonly string[], head: ReadonlyMap<string, StackFiles>, base: ReadonlyMap<string, StackFiles>): AffectedStack[] {
    const stacks = [...new Set([...head.keys(), ...base.keys()])].sort();
    const global = changed.filter((file) => GLOBAL_PATTERNS.some((pattern) => pattern.test(file)));
    return stacks.flatMap((stack) => {
        if (global.length > 0) return [{ stack, reason: `the program changed (${global.slice(0, 3).join(", ")}${global.length > 3 ? ", ..." : ""})` }];
        if (changed.includes(`Pulumi.${stack}.yaml`)) return [{ stack, reason: `Pulumi.${stack}.yaml changed` }];
        const specs = new Set([...(head.get(stack)?.specs ?? []), ...(base.get(stack)?.specs ?? [])]);
        const touched = changed.filter((file) => specs.has(file));
        return touched.length > 0 ? [{ stack, reason: `app spec ${touched.join(", ")} changed` }] : [];
    });
}

export interface ResourceChange {
    op: string;
    type: string;
    kind: string;
    /** `namespace/name` of the Kubernetes object, or the Pulumi name for other resources. */
    name: string;
    urn: string;
    /** Changed properties, from the engine's diff. */
    fields: string[];
    blocking: boolean;
}

export interface StackReport {
    stack: string;
    reason: string;
    how: string;
    changes: ResourceChange[];
    counts: Record<string, number>;
    diffText: string;
    /** Our configuration error (or the engine's), when the preview failed. */
    error?: string;
    /** The third-party validators (istioctl analyze, kube-score, promtool) on the head's render. */
    validation?: { ok: boolean; summary: string };
}

function kindOf(type: string): string {
    return type.split(":").pop() ?? type;
}

function objectName(inputs: Record<string, any> | undefined): string | undefined {
    const metadata = inputs?.metadata as { name?: string; namespace?: string } | undefined;
    if (!metadata?.name) return undefined;
    return metadata.namespace ? `${metadata.namespace}/${metadata.name}` : metadata.name;
}

/** Turns the engine's resource pre-events into one change per resource. */
export function changesFromEvents(events: readonly EngineEvent[]): ResourceChange[] {
    const byUrn = new Map<string, ResourceChange>();
    for (const event of events) {
        const metadata = event.resourcePreEvent?.metadata;
        if (!metadata || metadata.type === "pulumi:pulumi:Stack" || metadata.type.startsWith("pulumi:providers:")) continue;
        const kind = kindOf(metadata.type);
        const fields = [...new Set([...(metadata.diffs ?? []), ...Object.keys(metadata.detailedDiff ?? {})])].sort();
        const change: ResourceChange = {
            op: metadata.op,
            type: metadata.type,
            kind,
            name: objectName(metadata.new?.inputs) ?? objectName(metadata.old?.inputs) ?? metadata.urn.split("::").pop()!,
            urn: metadata.urn,
            fields,
            blocking: BLOCKING_KINDS.has(kind) && DESTRUCTIVE_OPS.has(metadata.op),
        };
        const previous = byUrn.get(metadata.urn);
        if (!previous || OP_RANK.indexOf(change.op) > OP_RANK.indexOf(previous.op)) {
            byUrn.set(metadata.urn, { ...change, fields: [...new Set([...(previous?.fields ?? []), ...fields])].sort(), blocking: change.blocking || (previous?.blocking ?? false) });
        } else if (change.blocking) {
            previous.blocking = true;
        }
    }
    return [...byUrn.values()];
}

/** Our ConfigError text from a failed engine run, without the engine's framing; else its last lines. */
export function configErrorOf(text: string): string {
    const start = text.indexOf("invalid configuration (");
    if (start >= 0) {
        const lines = text.slice(start).split("\n");
        const end = lines.findIndex((line, index) => index > 0 && !/^\S+.*: /.test(line.trim()));
        return lines.slice(0, end < 0 ? undefined : end).join("\n").trim();
    }
    return text.trim().split("\n").slice(-15).join("\n");
}

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

function stacksAt(names: string[], read: (file: string) => string | undefined): Map<string, StackFiles> {
    const stacks = new Map<string, StackFiles>();
    for (const file of names) {
        const match = STACK_FILE.exec(file);
        if (match) stacks.set(match[1]!, { specs: specsOfStackFile(read(file), file) });
    }
    return stacks;
}

/** Render mode for both revisions, into the same directory: a different provider config would replace every resource. */
function renderOverrides(scratch: string, stack: string): Record<string, unknown> {
    return { "pluggable-mesh:kubernetes": { renderYamlToDirectory: path.join(scratch, "rendered", stack) } };
}

/** The stack in the team's backend (PULUMI_BACKEND_URL or a `pulumi login`), when it is deployed there. */
async function teamStack(stack: string, tools: Tools): Promise<EngineStack | undefined> {
    if (!process.env.PULUMI_BACKEND_URL && !loggedIn()) return undefined;
    try {
        const opened = await openStack(stack, tools, { stateDir: path.join(PROJECT_ROOT, ".pulumi-state") });
        const exported = await opened.guard(() => opened.stack.exportStack());
        return (exported.deployment?.resources ?? []).length > 0 ? opened : undefined;
    } catch {
        return undefined;
    }
}

async function previewStack(target: AffectedStack, base: string, baseCheckout: () => string, scratch: string, tools: Tools): Promise<StackReport> {
    const events: EngineEvent[] = [];
    const output: string[] = [];
    const report = (how: string, extra: Partial<StackReport> = {}): StackReport => {
        const changes = changesFromEvents(events);
        const counts: Record<string, number> = {};
        for (const change of changes) counts[change.op] = (counts[change.op] ?? 0) + 1;
        return { stack: target.stack, reason: target.reason, how, changes, counts, diffText: output.join(""), ...extra };
    };
    if (!fs.existsSync(path.join(PROJECT_ROOT, `Pulumi.${target.stack}.yaml`))) {
        return report("not previewed", { error: `Pulumi.${target.stack}.yaml is deleted by this change; the stack's resources stay until someone runs \`pulumi destroy\` on it` });
    }
    let head = await teamStack(target.stack, tools);
    let how = "preview against the team's backend";
    if (!head) {
        const stateDir = path.join(scratch, "state", target.stack);
        how = `self-contained: \`up\` of ${base} in render mode, then a preview of this change`;
        if (gitShow(base, `Pulumi.${target.stack}.yaml`) !== undefined) {
            const root = baseCheckout();
            const baseStack = await openStack(target.stack, tools, { stateDir, root, overrides: renderOverrides(scratch, target.stack) });
            try {
                await baseStack.guard(() => baseStack.stack.up({ configFile: baseStack.configFile }));
            } catch (error) {
                return report(how, { error: `the base revision itself does not deploy, so there is nothing to compare with:\n${configErrorOf(String((error as Error).message))}` });
            }
        } else {
            how = "self-contained: a new stack, previewed against an empty state";
        }
        head = await openStack(target.stack, tools, { stateDir, overrides: renderOverrides(scratch, target.stack) });
    }
    try {
        const opened = head;
        await opened.guard(() => opened.stack.preview({ configFile: opened.configFile, diff: true, color: "never", onEvent: (event) => events.push(event), onOutput: (line) => output.push(line) }));
    } catch (error) {
        return report(how, { error: configErrorOf(`${output.join("")}\n${(error as Error).message}`) });
    }
    return report(how, { validation: validateHead(target.stack) });
}

/** Runs `npm run validate` for the stack in its own process (it uses the SDK's mock runtime, this process the real engine). */
function validateHead(stack: string): { ok: boolean; summary: string } {
    const result = spawnSync(process.execPath, [...process.execArgv, path.join(PROJECT_ROOT, "cli", "validate.ts"), "--stack", stack], { cwd: PROJECT_ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { ok: result.status === 0, summary: `${result.stdout ?? ""}${result.status === 0 ? "" : result.stderr ?? ""}`.trim() };
}

function escapeCell(text: string): string {
    return text.replace(/\|/g, "\\|");
}

/** A pull-request comment holds at most 65,536 characters; the diffs share what the tables leave. */
const DIFF_BUDGET = 45_000;

function clip(text: string, limit: number, stack: string): string {
    if (text.length <= limit) return text;
    return `${text.slice(0, limit)}\n... (${text.length - limit} more characters: the whole diff is in pr-preview-${stack}.diff beside this report)`;
}

/** The Markdown document: blocking changes first, then per stack counts, a table, fields and the diff. */
export function renderReport(base: string, reports: readonly StackReport[], allowed: boolean): string {
    const lines = [`## Pulumi preview against \`${base}\``, ""];
    if (reports.length === 0) {
        lines.push("No stack is affected by this change (nothing deployable changed).");
        return `${lines.join("\n")}\n`;
    }
    const blocking = reports.flatMap((report) => report.changes.filter((change) => change.blocking).map((change) => ({ stack: report.stack, change })));
    if (blocking.length > 0) {
        lines.push(`### ${allowed ? "⚠️ Allowed" : "⛔ Blocking"}: ${blocking.length} replacement(s) or deletion(s) that lose data or cut traffic`, "");
        lines.push("| stack | kind | namespace/name | operation |", "|---|---|---|---|");
        for (const { stack, change } of blocking) lines.push(`| ${stack} | ${change.kind} | ${escapeCell(change.name)} | **${change.op}** |`);
        lines.push("", allowed ? "Allowed for this change." : "Add the `allow-data-loss` label (or run with `--allow-blocking`) if this is intended.", "");
    }
    for (const report of reports) {
        lines.push(`### Stack \`${report.stack}\``, "", `${report.reason}; ${report.how}.`, "");
        if (report.error) {
            lines.push("**The preview failed:**", "", "```", report.error, "```", "");
            continue;
        }
        const counts = Object.entries(report.counts)
            .sort(([a], [b]) => OP_RANK.indexOf(b) - OP_RANK.indexOf(a))
            .map(([op, count]) => `${op} ${count}`)
            .join(" · ");
        lines.push(`Operations: ${counts || "none"}`, "");
        const changed = report.changes.filter((change) => change.op !== "same").sort((a, b) => Number(b.blocking) - Number(a.blocking) || OP_RANK.indexOf(b.op) - OP_RANK.indexOf(a.op));
        if (changed.length === 0) {
            lines.push("No changes.", "");
        } else {
            lines.push("| kind | namespace/name | operation | changed fields |", "|---|---|---|---|");
            for (const change of changed) {
                const fields = change.fields.length > 0 ? change.fields.slice(0, 8).map((field) => `\`${field}\``).join(", ") + (change.fields.length > 8 ? ", ..." : "") : "";
                lines.push(`| ${change.kind} | ${escapeCell(change.name)} | ${change.blocking ? `**${change.op}** ⛔` : change.op} | ${escapeCell(fields)} |`);
            }
            lines.push("");
        }
        const budget = Math.floor(DIFF_BUDGET / reports.length);
        lines.push("<details><summary>Full <code>pulumi preview --diff</code></summary>", "", "```diff", clip(report.diffText.trim(), budget, report.stack), "```", "", "</details>", "");
        if (report.validation) {
            const verdict = report.validation.ok ? "✅ validators pass" : "❌ validators fail";
            lines.push(`<details><summary>${verdict}: istioctl analyze, kube-score, promtool</summary>`, "", "```", clip(report.validation.summary, 8000, report.stack), "```", "", "</details>", "");
        }
    }
    return `${lines.join("\n")}\n`;
}

export interface PrPreviewResult {
    markdown: string;
    reports: StackReport[];
    blocking: number;
    failed: number;
}

export async function prPreview(base: string, allowBlocking: boolean): Promise<PrPreviewResult> {
    const mergeBase = git(["merge-base", base, "HEAD"]).trim();
    const changed = changedFiles(mergeBase);
    const headStacks = stacksAt(fs.readdirSync(PROJECT_ROOT), (file) => (fs.existsSync(path.join(PROJECT_ROOT, file)) ? fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8") : undefined));
    const baseStacks = stacksAt(git(["ls-tree", "--name-only", mergeBase]).split("\n"), (file) => gitShow(mergeBase, file));
    const targets = affectedStacks(changed, headStacks, baseStacks);
    const reports: StackReport[] = [];
    if (targets.length > 0) {
        const tools = ensureTools();
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-pr-"));
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
            for (const target of targets) reports.push(await previewStack(target, base, baseCheckout, scratch, tools));
        } finally {
            if (checkout) git(["worktree", "remove", "--force", checkout]);
            fs.rmSync(scratch, { recursive: true, force: true });
        }
    }
    const blocking = reports.reduce((sum, report) => sum + report.changes.filter((change) => change.blocking).length, 0);
    return { markdown: renderReport(base, reports, allowBlocking), reports, blocking, failed: reports.filter((report) => report.error || report.validation?.ok === false).length };
}

const COMMAND = {
    usage: `usage: npm run pr-preview -- --base <git ref> [--allow-blocking] [--out <file>] [--json <file>]
  --base <git ref>   the branch the change will merge into, e.g. origin/main
  --allow-blocking   exit 0 even when data-losing replacements or deletions are listed
  --out <file>       the Markdown report (default: out/pr-preview.md)
  --json <file>      the same report as JSON
Exits 1 when a preview failed, a validator failed or a blocking change is not allowed.`,
    options: { base: { type: "string" }, out: { type: "string" }, json: { type: "string" }, "allow-blocking": { type: "boolean", default: false } },
} as const;

async function main(argv: readonly string[]): Promise<number> {
    const { values } = parseCommandLine(COMMAND, argv);
    if (!values.base) throw new UsageError("--base <git ref> is required (the branch the change will merge into, e.g. origin/main)");
    const allowed = values["allow-blocking"]! || process.env.PR_PREVIEW_ALLOW_BLOCKING === "true";
    const result = await prPreview(values.base, allowed);
    const out = path.resolve(values.out ?? path.join(PROJECT_ROOT, "out", "pr-preview.md"));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, result.markdown);
    for (const report of result.reports) fs.writeFileSync(path.join(path.dirname(out), `pr-preview-${report.stack}.diff`), report.diffText);
    if (values.json) fs.writeFileSync(path.resolve(values.json), `${JSON.stringify({ reports: result.reports.map(({ diffText: _diffText, ...report }) => report), blocking: result.blocking, failed: result.failed }, null, 2)}\n`);
    process.stdout.write(result.markdown);
    console.error(`pr-preview: ${result.reports.length} stack(s) previewed, ${result.blocking} blocking change(s)${allowed ? " (allowed)" : ""}, ${result.failed} failed; report in ${out}`);
    return result.failed > 0 || (result.blocking > 0 && !allowed) ? 1 : 0;
}

if (require.main === module) runCommand(COMMAND, main);
