import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { ConfigError } from "../components/common/errors";
import { PROJECT_ROOT, readStackConfig, runWithMocks, withParents, type RegisteredResource } from "./mockEngine";

/**
 * `npm run render -- --stack <name> [--out <dir>]`: runs the program against `Pulumi.<name>.yaml`
 * with the SDK's mock runtime (no cluster, no Pulumi CLI) and writes every Kubernetes object as
 * YAML, an index of all resources, and the Helm charts that would be rendered by the provider.
 */

const CHART_TYPE = "kubernetes:helm.sh/v4:Chart";

/** apiVersion and kind of a Kubernetes resource, from its inputs or its type token. */
export function manifestOf(resource: RegisteredResource): Record<string, unknown> | undefined {
    const match = /^kubernetes:([^:]+):(.+)$/.exec(resource.type);
    if (!match || resource.type === CHART_TYPE) return undefined;
    const [, groupVersion, kind] = match;
    const apiVersion = groupVersion!.startsWith("core/") ? groupVersion!.slice("core/".length) : groupVersion!;
    const { apiVersion: given, kind: givenKind, ...rest } = resource.inputs;
    return { apiVersion: given ?? apiVersion, kind: givenKind ?? kind, ...rest };
}

/** Pulumi's wire form of a secret (what the mock engine records for `pulumi.secret(...)`). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces every secret by a placeholder: reviewers and validators need the shape, never the value, and render output lands in files. */
export function redactSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(redactSecrets);
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SECRET_SIG] === SECRET_SIG_VALUE) return redactInner(record["value"]);
        return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, redactSecrets(inner)]));
    }
    return value;
}

function redactInner(value: unknown): unknown {
    if (typeof value === "string") return "redacted";
    if (Array.isArray(value)) return value.map(redactInner);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactInner(inner)]));
    return value;
}

export interface RenderResult {
    objects: Record<string, unknown>[];
    charts: { name: string; chart: unknown; repository: unknown; version: unknown; values: unknown }[];
    index: { type: string; name: string; urn: string; parentType?: string }[];
}

export async function renderStack(stack: string): Promise<RenderResult> {
    return renderConfig(stack, readStackConfig(stack));
}

/** Like {@link renderStack}, with the config given (as Pulumi hands it to a program) instead of read from `Pulumi.<stack>.yaml`. */
export async function renderConfig(stack: string, config: Record<string, string>): Promise<RenderResult> {
    const { pluggableMesh } = require("../program") as typeof import("../program");
    const { resources } = await runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack, config });
    const all = withParents(resources);
    return {
        objects: all.map(manifestOf).filter((manifest): manifest is Record<string, unknown> => manifest !== undefined),
        charts: all
            .filter((resource) => resource.type === CHART_TYPE)
            .map((resource) => ({
                name: resource.name,
                chart: resource.inputs.chart,
                repository: resource.inputs.repositoryOpts?.repo,
                version: resource.inputs.version,
                values: resource.inputs.values,
            })),
        index: all.map(({ type, name, urn, parentType }) => ({ type, name, urn, ...(parentType ? { parentType } : {}) })),
    };
}

async function main(): Promise<void> {
    const { values } = parseArgs({ options: { stack: { type: "string", default: "dev" }, out: { type: "string" } } });
    const stack = values.stack!;
    const out = path.resolve(values.out ?? path.join(PROJECT_ROOT, "out", stack));
    const result = await renderStack(stack);
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    // YAML 1.1 quoting: kubectl and other Go readers take an unquoted `yes`/`on` (MYSQL_ALLOW_EMPTY_PASSWORD) as a boolean.
    fs.writeFileSync(path.join(out, "manifests.yaml"), result.objects.map((object) => stringify(redactSecrets(object), { lineWidth: 0, version: "1.1" })).join("---\n"));
    fs.writeFileSync(path.join(out, "index.json"), `${JSON.stringify(result.index, null, 2)}\n`);
    fs.writeFileSync(path.join(out, "charts.json"), `${JSON.stringify(result.charts, null, 2)}\n`);
    console.log(`stack ${stack}: ${result.objects.length} Kubernetes objects, ${result.charts.length} Helm charts, ${result.index.length} resources in all`);
    console.log(`  ${path.relative(process.cwd(), path.join(out, "manifests.yaml"))}   every object, as YAML`);
    console.log(`  ${path.relative(process.cwd(), path.join(out, "index.json"))}       type, name, URN and parent of every resource`);
    console.log(`  ${path.relative(process.cwd(), path.join(out, "charts.json"))}      charts the provider renders at deploy time (chart, repository, version, values)`);
}

if (require.main === module) {
    main().catch((error: unknown) => {
        // A user mistake prints just our message; anything else is a bug and keeps its stack.
        console.error(error instanceof ConfigError ? `error: ${error.message}` : error);
        process.exit(1);
    });
}
