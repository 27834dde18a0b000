import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { listStacks, readStackConfig } from "../engine/stackFile";
import { apiVersionKindOf, PROJECT_NAME, PROJECT_ROOT, runWithMocks, type RegisteredResource } from "../mocks/mockEngine";
import { parseCommandLine, runCommand } from "./command";

/**
 * `npm run render -- --stack <name> [--out <dir>]`: runs the program against `Pulumi.<name>.yaml`
 * with the SDK's mock runtime (no cluster, no Pulumi CLI) and writes every Kubernetes object as
 * YAML, an index of all resources, and the Helm charts that would be rendered by the provider.
 */

const CHART_TYPE = "kubernetes:helm.sh/v4:Chart";

/** A Kubernetes resource's manifest (apiVersion and kind from its inputs or its type token), secrets redacted. */
export function manifestOf(resource: RegisteredResource): Record<string, unknown> | undefined {
    const typed = apiVersionKindOf(resource.type);
    if (!typed || resource.type === CHART_TYPE) return undefined;
    const { apiVersion, kind, ...rest } = redactedInputs(resource);
    return { apiVersion: apiVersion ?? typed.apiVersion, kind: kind ?? typed.kind, ...rest };
}

/** Inputs with every secret replaced by a placeholder: reviewers and validators need the shape, never the value, and render output lands in files. */
export function redactedInputs(resource: RegisteredResource): Record<string, any> {
    if (resource.secretPaths.length === 0) return resource.inputs;
    const copy = structuredClone(resource.inputs);
    for (const at of resource.secretPaths) {
        const holder = at.slice(0, -1).reduce((inner: any, key) => inner[key], copy);
        holder[at[at.length - 1]!] = redacted(holder[at[at.length - 1]!]);
    }
    return copy;
}

function redacted(plain: unknown): unknown {
    if (typeof plain === "string") return "redacted";
    if (Array.isArray(plain)) return plain.map(redacted);
    if (plain !== null && typeof plain === "object") return Object.fromEntries(Object.entries(plain).map(([key, inner]) => [key, redacted(inner)]));
    return plain;
}

export interface RenderResult {
    /** Every Kubernetes object, secrets redacted. */
    objects: Record<string, unknown>[];
    charts: { name: string; chart: unknown; repository: unknown; version: unknown; values: unknown }[];
    /** Every resource with the engine's URN (its parent chain in the type part) and its parent's URN. */
    index: { type: string; name: string; urn: string; parent: string }[];
}

export async function renderStack(stack: string): Promise<RenderResult> {
    return renderConfig(stack, readStackConfig(stack));
}

/** The stacks a stack's config names (`platformStack`, `peerStacks`), as far as they are written right; the program itself reports the rest. */
export function referencedStacks(config: Readonly<Record<string, string>>): string[] {
    const platform = config[`${PROJECT_NAME}:platformStack`];
    let peers: unknown = [];
    try {
        peers = JSON.parse(config[`${PROJECT_NAME}:peerStacks`] ?? "[]");
    } catch {
        // Not JSON: the program's schema says what is wrong with it.
    }
    const names = [platform, ...(Array.isArray(peers) ? peers : [])].filter((name): name is string => typeof name === "string");
    return [...new Set(names)];
}

/** The outputs a stack exports that other stacks read; the rest (Kiali's URL and token) are engine outputs that mean nothing offline. */
const READ_OUTPUTS = ["apps", "istio", "prometheusUrl", "platform", "peers"] as const;

/**
 * What the stacks a stack names would export, each rendered offline first with the same program
 * (recursively, for the stacks they name): the offline render needs no backend. A stack being
 * rendered already (mutual peers) counts as not deployed, as it would on a first `up`; a stack
 * without a stack file here is left out, so reading it fails as the engine fails (`unknown stack`).
 */
export async function offlineStackOutputs(config: Readonly<Record<string, string>>, rendering: ReadonlySet<string> = new Set(), done: Map<string, Record<string, unknown>> = new Map()): Promise<Record<string, Record<string, unknown>>> {
    const outputs: Record<string, Record<string, unknown>> = {};
    for (const name of referencedStacks(config)) {
        if (rendering.has(name)) {
            outputs[name] = {};
            continue;
        }
        if (!done.has(name)) {
            if (!listStacks(PROJECT_ROOT).includes(name)) continue;
            const own = readStackConfig(name);
            const nested = await offlineStackOutputs(own, new Set([...rendering, name]), done);
            const { pluggableMesh } = require("../stacks/program") as typeof import("../stacks/program");
            const run = await runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack: name, config: own, stackOutputs: nested });
            const exported = run.outputs as unknown as Record<string, unknown>;
            done.set(name, JSON.parse(JSON.stringify(Object.fromEntries(READ_OUTPUTS.filter((output) => exported[output] !== undefined).map((output) => [output, exported[output]])))));
        }
        outputs[name] = done.get(name)!;
    }
    return outputs;
}

/** Like {@link renderStack}, with the config given (as Pulumi hands it to a program) instead of read from `Pulumi.<stack>.yaml`. */
export async function renderConfig(stack: string, config: Record<string, string>): Promise<RenderResult> {
    const { pluggableMesh } = require("../stacks/program") as typeof import("../stacks/program");
    const stackOutputs = await offlineStackOutputs(config, new Set([stack]));
    const { resources: all } = await runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack, config, stackOutputs });
    return {
        objects: all.map(manifestOf).filter((manifest): manifest is Record<string, unknown> => manifest !== undefined),
        charts: all
            .filter((resource) => resource.type === CHART_TYPE)
            .map((resource) => ({
                name: resource.name,
                chart: resource.inputs.chart,
                repository: resource.inputs.repositoryOpts?.repo,
                version: resource.inputs.version,
                values: redactedInputs(resource).values,
            })),
        index: all.map(({ type, name, urn, parent }) => ({ type, name, urn, parent })),
    };
}

const COMMAND = {
    usage: `usage: npm run render -- [--stack <name>] [--out <dir>]
  --stack <name>  the stack whose Pulumi.<name>.yaml is rendered (default: dev)
  --out <dir>     where manifests.yaml, index.json and charts.json go (default: out/<stack>)`,
    options: { stack: { type: "string", default: "dev" }, out: { type: "string" } },
} as const;

async function main(argv: readonly string[]): Promise<void> {
    const { values } = parseCommandLine(COMMAND, argv);
    const stack = values.stack!;
    const out = path.resolve(values.out ?? path.join(PROJECT_ROOT, "out", stack));
    const result = await renderStack(stack);
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    // YAML 1.1 quoting: kubectl and other Go readers take an unquoted `yes`/`on` (MYSQL_ALLOW_EMPTY_PASSWORD) as a boolean.
    fs.writeFileSync(path.join(out, "manifests.yaml"), result.objects.map((object) => stringify(object, { lineWidth: 0, version: "1.1" })).join("---\n"));
    fs.writeFileSync(path.join(out, "index.json"), `${JSON.stringify(result.index, null, 2)}\n`);
    fs.writeFileSync(path.join(out, "charts.json"), `${JSON.stringify(result.charts, null, 2)}\n`);
    console.log(`stack ${stack}: ${result.objects.length} Kubernetes objects, ${result.charts.length} Helm charts, ${result.index.length} resources in all`);
    console.log(`  ${path.relative(process.cwd(), path.join(out, "manifests.yaml"))}   every object, as YAML`);
    console.log(`  ${path.relative(process.cwd(), path.join(out, "index.json"))}       type, name, URN and parent of every resource`);
    console.log(`  ${path.relative(process.cwd(), path.join(out, "charts.json"))}      charts the provider renders at deploy time (chart, repository, version, values)`);
}

if (require.main === module) runCommand(COMMAND, main);
