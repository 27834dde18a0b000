/**
 * `npm run docs`: writes docs/configuration.md from the zod schemas themselves (the stack config
 * and the app spec), so the reference can never drift from what the program accepts; a unit test
 * fails when the committed file is stale. Imports the schemas only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { appSpecSchema } from "../components/model";
import { PROJECT, stackConfigSchema } from "../stacks/config";
import { PROJECT_ROOT } from "../tools/tools";

export const CONFIGURATION_DOC = path.join(PROJECT_ROOT, "docs", "configuration.md");

/** The part of a JSON Schema node this generator reads. */
interface JsonSchema {
    type?: string | string[];
    /** What a shared syntax rule accepts (`ruleString` in components/model/syntax.ts). */
    allowed?: string;
    description?: string;
    default?: unknown;
    enum?: unknown[];
    const?: unknown;
    pattern?: string;
    format?: string;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    minLength?: number;
    maxLength?: number;
    minItems?: number;
    maxItems?: number;
    properties?: Record<string, JsonSchema>;
    required?: string[];
    items?: JsonSchema;
    anyOf?: JsonSchema[];
    oneOf?: JsonSchema[];
    additionalProperties?: boolean | JsonSchema;
}

interface Row {
    key: string;
    allowed: string;
    defaultValue: string;
    description: string;
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n+/g, " ");

/** What a leaf accepts, in a few words. */
function allowed(node: JsonSchema): string {
    if (node.allowed) return node.allowed;
    if (node.enum) return node.enum.map((value) => code(JSON.stringify(value))).join(", ");
    if (node.const !== undefined) return code(JSON.stringify(node.const));
    const variants = node.anyOf ?? node.oneOf;
    if (variants) return variants.map(allowed).join(" or ");
    const type = Array.isArray(node.type) ? node.type.join(" or ") : (node.type ?? "any");
    const limits: string[] = [];
    if (node.format) limits.push(node.format);
    if (node.pattern) limits.push(`matching ${code(node.pattern)}`);
    if (node.minLength !== undefined && node.minLength > 0) limits.push(`≥ ${node.minLength} characters`);
    if (node.maxLength !== undefined) limits.push(`≤ ${node.maxLength} characters`);
    if (node.minimum !== undefined && node.minimum > Number.MIN_SAFE_INTEGER) limits.push(`≥ ${node.minimum}`);
    if (node.exclusiveMinimum !== undefined) limits.push(`> ${node.exclusiveMinimum}`);
    if (node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER) limits.push(`≤ ${node.maximum}`);
    if (node.minItems !== undefined && node.minItems > 0) limits.push(`≥ ${node.minItems} items`);
    if (node.maxItems !== undefined) limits.push(`≤ ${node.maxItems} items`);
    if (type === "array" && node.items) return `list of ${allowed(node.items)}${limits.length ? ` (${limits.join(", ")})` : ""}`;
    return limits.length > 0 ? `${type} (${limits.join(", ")})` : type;
}

function isObject(node: JsonSchema): boolean {
    return node.properties !== undefined;
}

/** One row per leaf, objects flattened to dotted keys and lists of objects to `key[]`. */
function rows(node: JsonSchema, prefix: string): Row[] {
    const result: Row[] = [];
    for (const [name, child] of Object.entries(node.properties ?? {})) {
        const key = prefix === "" ? name : `${prefix}.${name}`;
        const objectVariant = (child.anyOf ?? child.oneOf)?.find(isObject);
        if (isObject(child)) {
            if (child.description) result.push({ key, allowed: "object", defaultValue: "", description: child.description });
            result.push(...rows(child, key));
        } else if (child.type === "array" && child.items && isObject(child.items)) {
            result.push({ key: `${key}[]`, allowed: `list${child.minItems ? ` (≥ ${child.minItems})` : ""}`, defaultValue: child.default === undefined ? "" : code(JSON.stringify(child.default)), description: child.description ?? "" });
            result.push(...rows(child.items, `${key}[]`));
        } else {
            result.push({
                key,
                allowed: allowed(objectVariant ? { ...child, anyOf: (child.anyOf ?? child.oneOf)!.filter((variant) => variant !== objectVariant) } : child),
                defaultValue: child.default === undefined ? "" : code(JSON.stringify(child.default)),
                description: child.description ?? "",
            });
            if (objectVariant) result.push(...rows(objectVariant, key));
        }
    }
    return result;
}

function table(entries: Row[], keyPrefix: string): string {
    const lines = ["| key | allowed | default | meaning |", "|---|---|---|---|"];
    for (const row of entries) lines.push(`| ${code(keyPrefix + row.key)} | ${cell(row.allowed)} | ${cell(row.defaultValue)} | ${cell(row.description)} |`);
    return lines.join("\n");
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
    // Inputs as written by people (durations as text, defaults not yet applied).
    return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

/** The whole reference, as Markdown. */
export function configurationReference(): string {
    return [
        "# Configuration reference",
        "",
        "Generated by `npm run docs` from the zod schemas the program validates with (`stacks/config.ts`,",
        "`components/model/spec.ts`); `npm test` fails when this file is stale. Every problem is reported at",
        "once, with its key, before any resource is registered.",
        "",
        "## Stack config",
        "",
        `Keys live under \`${PROJECT}:\` in \`Pulumi.<stack>.yaml\` (\`pulumi config set ${PROJECT}:<key> <value>\`;`,
        "structured values with `--path` or in YAML).",
        "",
        table(rows(jsonSchemaOf(stackConfigSchema), ""), `${PROJECT}:`),
        "",
        "## App spec",
        "",
        "An app spec is a YAML file listed in the stack's `apps`, or the arguments of `GovernedApp` in",
        "TypeScript (the same schema; there the app's name is the component's name and `mode` is an",
        "argument of its own).",
        "",
        table(rows(jsonSchemaOf(appSpecSchema), ""), ""),
        "",
    ].join("\n");
}

function main(): void {
    fs.mkdirSync(path.dirname(CONFIGURATION_DOC), { recursive: true });
    fs.writeFileSync(CONFIGURATION_DOC, configurationReference());
    process.stdout.write(`wrote ${path.relative(PROJECT_ROOT, CONFIGURATION_DOC)}\n`);
}

if (require.main === module) main();
