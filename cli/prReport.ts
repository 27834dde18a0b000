import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { parseStackFile } from "../engine/stackFile";

/**
 * The pure half of `npm run pr-preview`: which stacks a change affects, what the engine's events
 * say changed and which policies were violated, the Markdown report and the exit code. No git, no
 * engine, no files: cli/prPreview.ts gathers the inputs and test/prReport.test.ts checks these.
 */

/** Files whose change can alter every stack: the program, its dependencies, the config schema, the policy pack. */
const GLOBAL_PATTERNS = [/^index\.ts$/, /^program\.ts$/, /^Pulumi\.yaml$/, /^package(-lock)?\.json$/, /^tsconfig\.json$/, /^components\//, /^stacks\/.*\.ts$/, /^policy\/(?!config\/)/];
const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;
/** A stack's policy config (policy/config/<stack>.json) affects that stack only. */
const POLICY_CONFIG = /^policy\/config\/(.+)\.json$/;

/** Kinds whose replacement or deletion loses data or takes everything inside along. */
export const BLOCKING_KINDS = new Set(["StatefulSet", "PersistentVolumeClaim", "Namespace", "CustomResourceDefinition", "Service"]);
/** Operations that recreate or remove an object. */
export const DESTRUCTIVE_OPS = new Set(["replace", "create-replacement", "delete-replaced", "delete", "discard", "discard-replaced"]);
/** When one resource has several steps (a replacement has three), the one shown. */
const OP_RANK = ["same", "read", "refresh", "import", "update", "create", "create-replacement", "delete-replaced", "discard", "discard-replaced", "delete", "replace"];

export interface StackFiles {
    /** App spec files the stack lists, normalized to repository paths. */
    specs: string[];
    /** The platform stack an app stack names (`pluggable-mesh:platformStack`); absent for a platform or single stack. */
    platformStack?: string;
    /** The stacks whose `peers` it reads (`pluggable-mesh:peerStacks`). */
    peerStacks?: string[];
}

export interface AffectedStack {
    stack: string;
    reason: string;
}

/** What a stack file says about the files and stacks it uses; `label` names the file in a parse error. */
export function stackFilesOf(text: string | undefined, label = "the stack file"): StackFiles {
    if (text === undefined) return { specs: [] };
    const config = parseStackFile(text, label).config;
    const apps = config["pluggable-mesh:apps"];
    const specs = (Array.isArray(apps) ? apps : [])
        .map((entry) => (entry as { spec?: unknown } | null)?.spec)
        .filter((spec): spec is string => typeof spec === "string")
        .map((spec) => path.posix.normalize(spec));
    const platformStack = config["pluggable-mesh:platformStack"];
    const peers = config["pluggable-mesh:peerStacks"];
    const peerStacks = Array.isArray(peers) ? peers.filter((peer): peer is string => typeof peer === "string") : [];
    return { specs, ...(typeof platformStack === "string" ? { platformStack } : {}), ...(peerStacks.length > 0 ? { peerStacks } : {}) };
}

/** The stacks among a list of file names, each with what its stack file lists. */
export function stacksAt(names: readonly string[], read: (file: string) => string | undefined): Map<string, StackFiles> {
    const stacks = new Map<string, StackFiles>();
    for (const file of names) {
        const match = STACK_FILE.exec(file);
        if (match) stacks.set(match[1]!, stackFilesOf(read(file), file));
    }
    return stacks;
}

/** Why a stack's own files affect it: its stack file, an app spec it lists or its policy config changed; undefined when none did. */
function ownChange(stack: string, changed: readonly string[], head: ReadonlyMap<string, StackFiles>, base: ReadonlyMap<string, StackFiles>): string | undefined {
    if (changed.includes(`Pulumi.${stack}.yaml`)) return `Pulumi.${stack}.yaml changed`;
    const specs = new Set([...(head.get(stack)?.specs ?? []), ...(base.get(stack)?.specs ?? [])]);
    const touched = changed.filter((file) => specs.has(file));
    if (touched.length > 0) return `app spec ${touched.join(", ")} changed`;
    return changed.some((file) => POLICY_CONFIG.exec(file)?.[1] === stack) ? policyReason(stack) : undefined;
}

const policyReason = (stack: string) => `policy/config/${stack}.json changed`;

/**
 * Which stacks a set of changed files can affect. A stack's own file or any app spec it lists (at
 * the base or the head) affects it; the program, its dependencies and the schema affect all stacks.
 * In a set of stacks (docs/fleet.md), a platform stack's file affects every app stack naming it,
 * and a change to an app stack's apps affects the stacks that read its `peers` (they admit its
 * callers). Platform stacks come first, as they deploy first.
 */
export function affectedStacks(changed: readonly string[], head: ReadonlyMap<string, StackFiles>, base: ReadonlyMap<string, StackFiles>): AffectedStack[] {
    const stacks = [...new Set([...head.keys(), ...base.keys()])].sort();
    const global = changed.filter((file) => GLOBAL_PATTERNS.some((pattern) => pattern.test(file)));
    const either = (stack: string, pick: (files: StackFiles) => string[]) => [...new Set([...pick(head.get(stack) ?? { specs: [] }), ...pick(base.get(stack) ?? { specs: [] })])];
    const platformsOf = (stack: string) => either(stack, (files) => (files.platformStack ? [files.platformStack] : []));
    const isApp = (stack: string) => platformsOf(stack).length > 0;
    const reasons = new Map<string, string>();
    for (const stack of stacks) {
        if (global.length > 0) {
            reasons.set(stack, `the program changed (${global.slice(0, 3).join(", ")}${global.length > 3 ? ", ..." : ""})`);
            continue;
        }
        const own = ownChange(stack, changed, head, base);
        if (own) reasons.set(stack, own);
    }
    if (global.length === 0) {
        // A policy config changes no output; a stack file or an app spec may change the stack's peers.
        const direct = [...reasons.keys()].filter((stack) => reasons.get(stack) !== policyReason(stack));
        for (const stack of stacks.filter((name) => !reasons.has(name))) {
            const platform = platformsOf(stack).find((name) => direct.includes(name) && !isApp(name) && changed.includes(`Pulumi.${name}.yaml`));
            const peers = either(stack, (files) => files.peerStacks ?? []).filter((peer) => direct.includes(peer) && isApp(peer));
            if (platform) reasons.set(stack, `its platform stack's file Pulumi.${platform}.yaml changed`);
            else if (peers.length > 0) reasons.set(stack, `it reads the peers of ${peers.join(", ")}, which this change affects (${peers.map((peer) => reasons.get(peer)).join("; ")})`);
        }
    }
    return [...stacks.filter((stack) => !isApp(stack)), ...stacks.filter(isApp)].filter((stack) => reasons.has(stack)).map((stack) => ({ stack, reason: reasons.get(stack)! }));
}

/**
 * The order pr-preview works in: every affected stack and every stack it needs deployed (its
 * platform, the stacks its apps call), each after the stacks it needs, so their outputs are there
 * when its preview reads them.
 */
export function previewOrder(targets: readonly string[], needsOf: (stack: string) => readonly string[]): string[] {
    const order: string[] = [];
    const visit = (stack: string) => {
        if (order.includes(stack)) return;
        needsOf(stack).forEach(visit);
        order.push(stack);
    };
    targets.forEach(visit);
    return order;
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
    /** What the preview read from other stacks (an app stack's platform and callees) and how far to trust it. */
    notes?: string[];
    /** The third-party validators (istioctl analyze, kube-score, promtool) on the head's render. */
    validation?: { ok: boolean; summary: string };
    /** What the policy pack found in the head's preview; absent when the pack did not run. */
    violations?: PolicyViolation[];
}

export interface PolicyViolation {
    policy: string;
    /** `mandatory` stops preview and up; `advisory` only warns. */
    level: "mandatory" | "advisory";
    /** `Kind namespace/name` of the resource, or "(stack)" for a finding about the stack as a whole. */
    resource: string;
    message: string;
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

/** Pulumi's color tags (`<{%reset%}>`) and ANSI escapes, which event messages may carry. */
const COLOR_CODES = /<\{%[^%]*%\}>|\u001b\[[0-9;]*m/g;

/**
 * The policy pack's findings from the engine's events, one per violation, in the order reported.
 * The engine prefixes each message with the policy's description line; the finding is what follows.
 */
export function violationsFromEvents(events: readonly EngineEvent[]): PolicyViolation[] {
    const byUrn = new Map(changesFromEvents(events).map((change) => [change.urn, change]));
    return events.flatMap((event) => {
        const policy = event.policyEvent;
        if (!policy) return [];
        const lines = policy.message.replace(COLOR_CODES, "").split("\n").map((line) => line.trim()).filter((line) => line.length > 0);
        const message = (lines.length > 1 ? lines.slice(1) : lines).join(" ");
        const change = policy.resourceUrn ? byUrn.get(policy.resourceUrn) : undefined;
        const resource = change ? `${change.kind} ${change.name}` : policy.resourceUrn ? `${kindOf(policy.resourceUrn.split("::")[2] ?? "")} ${policy.resourceUrn.split("::").pop()}` : "(stack)";
        return [{ policy: policy.policyName, level: policy.enforcementLevel === "mandatory" ? "mandatory" : "advisory", resource, message }];
    });
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

function escapeCell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

/** A pull-request comment holds at most 65,536 characters; the diffs share what the tables leave. */
const DIFF_BUDGET = 45_000;

function clip(text: string, limit: number, stack: string): string {
    if (text.length <= limit) return text;
    return `${text.slice(0, limit)}\n... (${text.length - limit} more characters: the whole diff is in pr-preview-${stack}.diff beside this report)`;
}

/** A stack's policy findings, above its changes: mandatory first. */
function policySection(violations: readonly PolicyViolation[] | undefined): string[] {
    if (violations === undefined) return [];
    if (violations.length === 0) return ["Policy pack: ✅ no violations.", ""];
    const count = (level: PolicyViolation["level"]) => violations.filter((violation) => violation.level === level).length;
    const sorted = [...violations].sort((a, b) => Number(b.level === "mandatory") - Number(a.level === "mandatory"));
    return [
        `Policy pack: ${count("mandatory") > 0 ? "⛔" : "⚠️"} ${count("mandatory")} mandatory, ${count("advisory")} advisory`,
        "",
        "| level | policy | resource | violation |",
        "|---|---|---|---|",
        ...sorted.map((violation) => `| ${violation.level === "mandatory" ? "**mandatory**" : "advisory"} | ${violation.policy} | ${escapeCell(violation.resource)} | ${escapeCell(violation.message)} |`),
        "",
    ];
}

/** The Markdown document: blocking changes and mandatory policy violations first, then per stack its policy findings, counts, a table, fields and the diff. */
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
    const mandatory = reports.flatMap((report) => (report.violations ?? []).filter((violation) => violation.level === "mandatory").map((violation) => ({ stack: report.stack, violation })));
    if (mandatory.length > 0) {
        lines.push(`### ⛔ Policy: ${mandatory.length} mandatory violation(s)`, "");
        lines.push("| stack | policy | resource | violation |", "|---|---|---|---|");
        for (const { stack, violation } of mandatory) lines.push(`| ${stack} | ${violation.policy} | ${escapeCell(violation.resource)} | ${escapeCell(violation.message)} |`);
        lines.push("", "A label cannot waive a mandatory policy: fix the program, or change the stack's enforcement in `policy/config/<stack>.json` in this pull request, where reviewers see it.", "");
    }
    for (const report of reports) {
        lines.push(`### Stack \`${report.stack}\``, "", `${report.reason}; ${report.how}.`, "");
        for (const note of report.notes ?? []) lines.push(`> ${escapeCell(note)}`, "");
        lines.push(...policySection(report.violations));
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

/** What a pr-preview run adds up to. */
export interface Verdict {
    blocking: number;
    failed: number;
    mandatory: number;
}

export function verdictOf(reports: readonly StackReport[]): Verdict {
    return {
        blocking: reports.reduce((sum, report) => sum + report.changes.filter((change) => change.blocking).length, 0),
        failed: reports.filter((report) => report.error || report.validation?.ok === false).length,
        mandatory: reports.reduce((sum, report) => sum + (report.violations ?? []).filter((violation) => violation.level === "mandatory").length, 0),
    };
}

/** 1 when a preview or validator failed, a mandatory policy is violated, or a blocking change is not allowed; else 0. */
export function exitCodeOf(verdict: Verdict, allowed: boolean): number {
    return verdict.failed > 0 || verdict.mandatory > 0 || (verdict.blocking > 0 && !allowed) ? 1 : 0;
}
