import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import { readStackConfig } from "../engine/stackFile";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { parseCommandLine, runCommand } from "./command";
import { renderConfig, type RenderResult } from "./render";
import { runToolsScript } from "../tools/tools";

/**
 * Third-party validators on a rendered stack: `istioctl analyze` (Istio's own semantic checks),
 * `kube-score` (workload hygiene) and `promtool check config` (the Prometheus config we generate).
 * None of them is ours, so they catch what our own tests were written not to see.
 *
 *   npm run validate -- --stack <name> [--keep <dir>]
 *
 * renders the stack offline (cli/render.ts), runs the three tools and prints a summary; it
 * exits non-zero on any istioctl error, any kube-score critical not waived in
 * `validators/kube-score-ignore.yaml`, or a promtool failure. Tools come from `ISTIOCTL`,
 * `KUBE_SCORE`, `PROMTOOL`, or are built by `tools/tools.sh`.
 *
 * Helm charts (Istio's base, istiod and gateway) are not expanded in the offline render, so
 * istioctl sees our objects but not the gateway pods the chart makes; in file-only mode it skips
 * the analyzers that would notice. Every istioctl warning that remains fails the check.
 */

// ---- tools ---------------------------------------------------------------------------------

export type ToolName = "istioctl" | "kube-score" | "promtool";
const TOOL_ENV: Record<ToolName, string> = { istioctl: "ISTIOCTL", "kube-score": "KUBE_SCORE", promtool: "PROMTOOL" };

/** The cache tools/tools.sh builds into (its `TOOLS` variable). */
export function toolsBinDir(): string {
    const tools = process.env.PLUGGABLE_MESH_TOOLS ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "pluggable-mesh", "tools");
    return path.join(tools, "bin");
}

function runs(binary: string, args: string[]): boolean {
    return spawnSync(binary, args, { stdio: "ignore" }).status === 0;
}

const VERSION_ARGS: Record<ToolName, string[]> = { istioctl: ["version", "--remote=false"], "kube-score": ["version"], promtool: ["--version"] };

/**
 * Where each tool is, without building anything: the env variable when set, else the tools cache.
 * A tool that is not there (or does not run) is left out.
 */
export function findTools(names: readonly ToolName[]): Partial<Record<ToolName, string>> {
    const found: Partial<Record<ToolName, string>> = {};
    for (const name of names) {
        const candidate = process.env[TOOL_ENV[name]] || path.join(toolsBinDir(), name);
        if (runs(candidate, VERSION_ARGS[name])) found[name] = candidate;
    }
    return found;
}

/** Every tool's path: from the env when set, otherwise built (or found) by tools/tools.sh. */
export function ensureTools(names: readonly ToolName[]): Record<ToolName, string> {
    const missing = names.filter((name) => !process.env[TOOL_ENV[name]]);
    const built: Record<string, string> = {};
    if (missing.length > 0) {
        Object.assign(built, runToolsScript(missing));
    }
    return Object.fromEntries(names.map((name) => [name, process.env[TOOL_ENV[name]] || built[TOOL_ENV[name]]!])) as Record<ToolName, string>;
}

// ---- rendered objects as files -----------------------------------------------------------------

/**
 * Writes objects as one multi-document YAML file. YAML 1.1 quoting: Go readers (istioctl,
 * kube-score, kubectl) take an unquoted `yes` as a boolean.
 */
export function writeManifests(objects: readonly Record<string, unknown>[], file: string): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, objects.map((object) => stringify(object, { lineWidth: 0, version: "1.1" })).join("---\n"));
    return file;
}

// ---- istioctl analyze ------------------------------------------------------------------------

export type IstioSeverity = "Error" | "Warning" | "Info";

export interface IstioMessage {
    /** Analyzer message code, e.g. IST0101. */
    code: string;
    severity: IstioSeverity;
    /** The resource the message is about, `Kind namespace/name` (or `Kind name` when cluster-scoped). */
    resource: string;
    message: string;
}

export interface IstioAnalysis {
    errors: number;
    warnings: number;
    infos: number;
    messages: IstioMessage[];
    /**
     * Analyzers istioctl did not run (from `-v`). With `--use-kube=false` its file reader drops
     * Services, Namespaces, Pods, Nodes and Secrets, so every analyzer that needs one of them is
     * skipped (IST0101 for unknown hosts and gateway selectors, IST0118 port names, IST0127 ...).
     */
    skippedAnalyzers: string[];
}

/**
 * One line of `istioctl analyze`'s log output:
 * `Warning [IST0101] (Gateway ruoyi/ruoyi-ui-ingress) Referenced selector not found: "istio=ingressgateway"`.
 * The resource may carry a source position: `(Gateway ns/name file.yaml:12)`.
 */
const ISTIO_LINE = /^(Error|Warning|Info) \[(IST\d{4})\] \(([^)]*)\) (.*)$/;

/** Parses `istioctl analyze` log output into messages; lines that are not messages are ignored. */
export function parseIstioAnalyze(output: string): IstioAnalysis {
    const messages: IstioMessage[] = [];
    for (const line of output.split("\n")) {
        const match = ISTIO_LINE.exec(line.trim());
        if (!match) continue;
        const [, severity, code, origin, message] = match as unknown as [string, IstioSeverity, string, string, string];
        // Drop the source position (`file.yaml:12`), which depends on where the files were written.
        const resource = origin.split(" ").slice(0, 2).join(" ");
        messages.push({ code, severity, resource, message });
    }
    const count = (severity: IstioSeverity) => messages.filter((message) => message.severity === severity).length;
    // `-v` lists "Skipped analyzers:" then one tab-indented name a line, then "Executed analyzers:".
    const skippedAnalyzers: string[] = [];
    let inSkipped = false;
    for (const line of output.split("\n")) {
        if (/^Skipped analyzers:/.test(line)) inSkipped = true;
        else if (inSkipped && /^\s+\S/.test(line)) skippedAnalyzers.push(line.trim());
        else inSkipped = false;
    }
    return { errors: count("Error"), warnings: count("Warning"), infos: count("Info"), messages, skippedAnalyzers };
}

/**
 * What `istioctl analyze` looks at: rendered manifest files with no cluster, or a live cluster
 * (every analyzer runs, on what the API server holds), optionally with files laid over it.
 */
export type IstioAnalysisTarget = readonly string[] | { kubeconfig: string; files?: readonly string[] };

/**
 * Runs `istioctl analyze` on rendered manifests or a live cluster. `-A`: every namespace; without
 * it istioctl looks only at `default` and reports nothing for ours.
 */
export function analyzeIstio(target: IstioAnalysisTarget, istioctl: string = ensureTools(["istioctl"]).istioctl): IstioAnalysis {
    const source = "kubeconfig" in target ? ["--kubeconfig", target.kubeconfig, ...(target.files ?? [])] : ["--use-kube=false", ...target];
    const result = spawnSync(istioctl, ["analyze", "-A", "--color=false", "-v", ...source], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const output = `${result.stdout ?? ""}\n${result.stderr ?? ""}`;
    const analysis = parseIstioAnalyze(output);
    // istioctl exits 79 when it found errors; anything else non-zero is a failure to analyze.
    if (result.error || (result.status !== 0 && !(result.status === 79 && analysis.errors > 0))) {
        throw new Error(`istioctl analyze failed (exit ${result.status ?? result.error?.message}):\n${output.trim()}`);
    }
    return analysis;
}

// ---- kube-score ------------------------------------------------------------------------------

export const KUBE_SCORE_IGNORE_FILE = path.join(PROJECT_ROOT, "validators", "kube-score-ignore.yaml");

/**
 * One waived kube-score check. Without `containers` the check is not run at all (`--ignore-test`);
 * a `flag` entry passes one of kube-score's own `--ignore-*` switches instead of a check id.
 */
export interface KubeScoreIgnore {
    /** kube-score check id (`kube-score list`); absent for a `flag` entry. */
    check?: string;
    /** A kube-score switch such as `--ignore-container-cpu-limit`. */
    flag?: string;
    /** Why we do not apply it, in one line. */
    reason: string;
    /** When given, only findings on these containers are waived; the check still runs for every other container. */
    containers?: string[];
}

/** Reads and checks the ignore list: every entry needs a check id (or an `--ignore-*` flag) and a reason. */
export function readKubeScoreIgnores(file: string = KUBE_SCORE_IGNORE_FILE): KubeScoreIgnore[] {
    const document = parseYaml(fs.readFileSync(file, "utf8")) as { ignore?: unknown };
    const entries = document?.ignore;
    if (!Array.isArray(entries)) throw new Error(`${file}: expected a top-level "ignore:" list`);
    return entries.map((entry: any, index: number) => {
        const where = `${file}: ignore[${index}]`;
        if ((typeof entry?.check === "string") === (typeof entry?.flag === "string")) throw new Error(`${where} needs either a "check" id or a "flag"`);
        if (typeof entry.flag === "string" && !/^--ignore-[a-z-]+$/.test(entry.flag)) throw new Error(`${where}.flag: ${JSON.stringify(entry.flag)} is not a kube-score --ignore-* switch`);
        if (typeof entry.reason !== "string" || entry.reason.trim() === "" || entry.reason.trim().includes("\n")) throw new Error(`${where} needs a one-line "reason"`);
        if (entry.containers !== undefined && !(entry.check && Array.isArray(entry.containers) && entry.containers.every((name: unknown) => typeof name === "string"))) {
            throw new Error(`${where}.containers must be a list of container names, on a "check" entry`);
        }
        return {
            ...(entry.check ? { check: entry.check as string } : { flag: entry.flag as string }),
            reason: entry.reason.trim() as string,
            ...(entry.containers ? { containers: entry.containers as string[] } : {}),
        };
    });
}

/** The kube-score arguments an ignore list stands for (container-scoped waivers are applied to the report instead). */
export function kubeScoreIgnoreArgs(ignores: readonly KubeScoreIgnore[]): string[] {
    return ignores.flatMap((ignore) => (ignore.flag ? [ignore.flag] : ignore.containers ? [] : ["--ignore-test", ignore.check!]));
}

export type KubeScoreGrade = "critical" | "warning";

export interface KubeScoreFinding {
    check: string;
    grade: KubeScoreGrade;
    /** `Kind namespace/name`. */
    object: string;
    /** The container the comment is about; empty for pod- or object-level comments. */
    container: string;
    summary: string;
}

export interface KubeScoreResult {
    criticals: number;
    warnings: number;
    findings: KubeScoreFinding[];
    /** Findings dropped by a container-scoped waiver. */
    waived: KubeScoreFinding[];
}

/** kube-score's grades (scorecard.Grade): 1 critical, 5 warning, 7 almost OK, 10 all OK. */
const GRADES: Record<number, KubeScoreGrade | undefined> = { 1: "critical", 5: "warning" };

interface KubeScoreJsonObject {
    type_meta: { kind: string };
    object_meta: { name: string; namespace?: string };
    checks: { check: { id: string }; grade: number; skipped: boolean; comments: { path: string; summary: string }[] | null }[];
}

/** Turns kube-score's JSON (v2) report into findings, dropping those a container-scoped waiver covers. */
export function parseKubeScore(report: KubeScoreJsonObject[], ignores: readonly KubeScoreIgnore[]): KubeScoreResult {
    const findings: KubeScoreFinding[] = [];
    const waived: KubeScoreFinding[] = [];
    for (const object of report) {
        const objectName = `${object.type_meta.kind} ${object.object_meta.namespace ? `${object.object_meta.namespace}/` : ""}${object.object_meta.name}`;
        for (const result of object.checks) {
            const grade = GRADES[result.grade];
            if (result.skipped || !grade) continue;
            const comments = result.comments?.length ? result.comments : [{ path: "", summary: "" }];
            for (const comment of comments) {
                const finding = { check: result.check.id, grade, object: objectName, container: comment.path, summary: comment.summary };
                const waiver = ignores.find((ignore) => ignore.check === finding.check && ignore.containers?.includes(finding.container));
                (waiver ? waived : findings).push(finding);
            }
        }
    }
    return {
        criticals: findings.filter((finding) => finding.grade === "critical").length,
        warnings: findings.filter((finding) => finding.grade === "warning").length,
        findings,
        waived,
    };
}

export interface ScoreOptions {
    kubeScore?: string;
    /** @default the list in validators/kube-score-ignore.yaml */
    ignores?: readonly KubeScoreIgnore[];
    /** Kubernetes version the checks assume (deprecated APIs). @default "1.34" */
    kubernetesVersion?: string;
}

/** Runs `kube-score score` on rendered manifests, with the checked-in waivers. */
export function scoreWorkloads(files: readonly string[], options: ScoreOptions = {}): KubeScoreResult {
    const kubeScore = options.kubeScore ?? ensureTools(["kube-score"])["kube-score"];
    const ignores = options.ignores ?? readKubeScoreIgnores();
    const args = [
        "score",
        "--output-format",
        "json",
        "--kubernetes-version",
        `v${options.kubernetesVersion ?? "1.34"}`,
        ...kubeScoreIgnoreArgs(ignores),
        ...files,
    ];
    const result = spawnSync(kubeScore, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    // kube-score exits 1 when it graded something critical; its JSON report is complete either way.
    let report: KubeScoreJsonObject[];
    try {
        // With nothing it can grade (a platform stack whose only objects are charts the provider
        // renders at deploy time, and a Namespace) kube-score prints `null`, not `[]`.
        report = (JSON.parse(result.stdout) as KubeScoreJsonObject[] | null) ?? [];
    } catch {
        throw new Error(`kube-score failed (exit ${result.status ?? result.error?.message}):\n${`${result.stdout ?? ""}\n${result.stderr ?? ""}`.trim()}`);
    }
    return parseKubeScore(report, ignores);
}

// ---- promtool --------------------------------------------------------------------------------

export interface PromtoolResult {
    ok: boolean;
    output: string;
}

/** `promtool check config` on a Prometheus configuration (YAML text or an object). */
export function checkPrometheusConfig(config: string | Record<string, unknown>, promtool: string = ensureTools(["promtool"]).promtool): PromtoolResult {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-promtool-"));
    try {
        const file = path.join(dir, "prometheus.yml");
        fs.writeFileSync(file, typeof config === "string" ? config : stringify(config));
        const result = spawnSync(promtool, ["check", "config", file], { encoding: "utf8" });
        if (result.error) throw new Error(`promtool could not run (${promtool}): ${result.error.message}`);
        return { ok: result.status === 0, output: `${result.stdout ?? ""}${result.stderr ?? ""}`.split(dir + path.sep).join("").trim() };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The Prometheus configurations in a render: `prometheus.yml` of every ConfigMap that carries one. */
export function prometheusConfigsOf(objects: readonly Record<string, any>[]): { name: string; config: string }[] {
    return objects
        .filter((object) => object.kind === "ConfigMap" && typeof object.data?.["prometheus.yml"] === "string")
        .map((object) => ({ name: `${object.metadata?.namespace}/${object.metadata?.name}`, config: object.data["prometheus.yml"] as string }));
}

// ---- everything on one render ------------------------------------------------------------------

export interface ValidationReport {
    istio: IstioAnalysis;
    kubeScore: KubeScoreResult;
    prometheus: ({ name: string } & PromtoolResult)[];
    /** istioctl errors, unexplained istioctl warnings, kube-score criticals, promtool failures: what fails the run. */
    failures: string[];
}

/** Runs every validator on the objects of one render. */
export function validateObjects(objects: readonly Record<string, unknown>[], tools: Record<ToolName, string>, options: { kubernetesVersion?: string } = {}): ValidationReport {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-validate-"));
    try {
        const file = writeManifests(objects, path.join(dir, "manifests.yaml"));
        const istio = analyzeIstio([file], tools.istioctl);
        const kubeScore = scoreWorkloads([file], { kubeScore: tools["kube-score"], kubernetesVersion: options.kubernetesVersion });
        const prometheus = prometheusConfigsOf(objects).map(({ name, config }) => ({ name, ...checkPrometheusConfig(config, tools.promtool) }));
        const failures = [
            ...istio.messages.filter((message) => message.severity === "Error").map((message) => `istioctl ${message.code} ${message.resource}: ${message.message}`),
            ...istio.messages
                .filter((message) => message.severity === "Warning")
                .map((message) => `istioctl warning ${message.code} ${message.resource}: ${message.message}`),
            ...kubeScore.findings
                .filter((finding) => finding.grade === "critical")
                .map((finding) => `kube-score ${finding.check} ${finding.object}${finding.container ? ` (${finding.container})` : ""}: ${finding.summary}`),
            ...prometheus.filter((check) => !check.ok).map((check) => `promtool ${check.name}: ${check.output}`),
        ];
        return { istio, kubeScore, prometheus, failures };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Renders a stack (or a given config) offline and validates it. */
export async function validateRender(stack: string, config: Record<string, string>, tools: Record<ToolName, string>): Promise<{ render: RenderResult; report: ValidationReport }> {
    const render = await renderConfig(stack, config);
    const kubernetesVersion = config["pluggable-mesh:kubernetesVersion"] ?? "1.34";
    return { render, report: validateObjects(render.objects, tools, { kubernetesVersion }) };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): string {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, count]) => `${name} ×${count}`).join(", ") || "none";
}

/** The human summary the CLI prints. */
export function summarize(stack: string, render: RenderResult, report: ValidationReport): string {
    const { istio, kubeScore, prometheus } = report;
    const lines = [
        `stack ${stack}: ${render.objects.length} objects validated (${render.charts.length} Helm charts are not expanded offline)`,
        `  istioctl analyze: ${istio.errors} errors, ${istio.warnings} warnings, ${istio.infos} infos (${countBy(istio.messages, (message) => `${message.severity} ${message.code}`)})`,
        `    ${istio.skippedAnalyzers.length} analyzers skipped: istioctl reads no Services, Namespaces or Pods from files (${istio.skippedAnalyzers.join(", ") || "none"})`,
        ...istio.messages.map((message) => `    ${message.severity} [${message.code}] (${message.resource}) ${message.message}`),
        `  kube-score: ${kubeScore.criticals} criticals, ${kubeScore.warnings} warnings (${countBy(kubeScore.findings, (finding) => `${finding.grade} ${finding.check}`)}); ${kubeScore.waived.length} findings waived per container`,
        ...kubeScore.findings.map((finding) => `    ${finding.grade} ${finding.check} ${finding.object}${finding.container ? ` (${finding.container})` : ""}: ${finding.summary}`),
        prometheus.length === 0
            ? "  promtool: no Prometheus in this stack"
            : `  promtool check config: ${prometheus.map((check) => `${check.name} ${check.ok ? "ok" : "FAILED"}`).join(", ")}`,
    ];
    if (report.failures.length > 0) lines.push(`  ${report.failures.length} problems:`, ...report.failures.map((failure) => `    - ${failure}`));
    return lines.join("\n");
}

const COMMAND = {
    usage: `usage: npm run validate -- [--stack <name>]
  --stack <name>  the stack whose offline render istioctl analyze, kube-score and promtool check (default: dev)
Exits 1 when a validator finds a problem. Tools come from ISTIOCTL, KUBE_SCORE and PROMTOOL, or are built by tools/tools.sh.`,
    options: { stack: { type: "string", default: "dev" } },
} as const;

async function main(argv: readonly string[]): Promise<number> {
    const { values } = parseCommandLine(COMMAND, argv);
    const stack = values.stack!;
    // The stack file first: a mistake there is reported before any tool is built.
    const config = readStackConfig(stack);
    const tools = ensureTools(["istioctl", "kube-score", "promtool"]);
    const { render, report } = await validateRender(stack, config, tools);
    console.log(summarize(stack, render, report));
    return report.failures.length > 0 ? 1 : 0;
}

if (require.main === module) runCommand(COMMAND, main);
