import * as fs from "node:fs";
import * as path from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { given } from "../components/model";
import { ConfigError } from "../components/resources";
import { PROJECT_ROOT } from "../tools/tools";
import { UserError } from "./errors";

/**
 * The one reader of `Pulumi.<stack>.yaml` for every command: the mock render, the validators, the
 * engine's derived config and the PR preview. Stack files arrive in pull requests, so a broken one
 * ends in a ConfigError naming the file and line, never a parser's stack trace or an echo of the
 * file's text (a YAML parser quotes the offending lines, which may hold a secret).
 */

/** Pulumi's own rule for stack names: letters, digits, `-`, `_` and `.`, at most 100 characters. */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** A stack file's top level, as far as we read it; other keys are kept as they are. */
export interface StackDocument {
    config: Record<string, unknown>;
    encryptionsalt?: string;
    [key: string]: unknown;
}

/** The stacks of a project: every `Pulumi.<stack>.yaml` in its root. */
export function listStacks(root: string = PROJECT_ROOT): string[] {
    return fs
        .readdirSync(root)
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

/** The stack file's name (`Pulumi.<stack>.yaml`), after checking the stack name cannot leave the project root. */
export function stackFileName(stack: string): string {
    if (!STACK_NAME.test(stack) || stack === "." || stack === "..") {
        throw new UserError(`${given(stack)} is not a stack name; stack names use letters, digits, "-", "_" and "." (at most 100)`);
    }
    return `Pulumi.${stack}.yaml`;
}

function kindOf(value: unknown): string {
    if (value === null) return "null";
    return Array.isArray(value) ? "a list" : typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

/**
 * Parses a stack file's text. `label` names the file in messages (`Pulumi.dev.yaml`, or
 * `Pulumi.dev.yaml at main`); the text itself is never quoted.
 */
export function parseStackFile(text: string, label: string): StackDocument {
    const lines = new LineCounter();
    const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
    const error = document.errors[0];
    if (error) {
        const { line, col } = lines.linePos(error.pos[0]);
        throw new ConfigError([{ key: `${label}:${line}:${col}`, message: `not valid YAML: ${error.message}` }]);
    }
    let value: unknown;
    try {
        value = document.toJS();
    } catch (thrown) {
        // Unresolved aliases and alias bombs surface only here; the alias name after ": " is the user's text.
        throw new ConfigError([{ key: label, message: `not valid YAML: ${(thrown as Error).message.split("\n")[0]!.split(": ")[0]}` }]);
    }
    if (value === null || value === undefined) return { config: {} };
    if (kindOf(value) !== "a mapping") {
        throw new ConfigError([{ key: label, message: `expected a mapping with a "config:" key at the top, given ${kindOf(value)}` }]);
    }
    const top = value as Record<string, unknown>;
    const config = top.config ?? {};
    if (kindOf(config) !== "a mapping") {
        throw new ConfigError([{ key: `${label}: config`, message: `expected a mapping of "pluggable-mesh:<key>": value, given ${kindOf(config)}` }]);
    }
    if (top.encryptionsalt !== undefined && typeof top.encryptionsalt !== "string") {
        throw new ConfigError([{ key: `${label}: encryptionsalt`, message: `expected a string, given ${kindOf(top.encryptionsalt)}` }]);
    }
    const plainSecrets = secretValueProblems(config as Record<string, unknown>, label);
    if (plainSecrets.length > 0) throw new ConfigError(plainSecrets);
    return { ...top, config: config as Record<string, unknown> } as StackDocument;
}

/** Reads and parses `Pulumi.<stack>.yaml` of a project; a stack without a file names the stacks there. */
export function readStackFile(stack: string, root: string = PROJECT_ROOT): { file: string; document: StackDocument } {
    const name = stackFileName(stack);
    const file = path.join(root, name);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        const stacks = listStacks(root);
        throw new UserError(`no stack ${given(stack)}: there is no ${name}; the stacks here are ${stacks.length > 0 ? stacks.join(", ") : "none"}`);
    }
    return { file, document: parseStackFile(text, name) };
}

/** What an encrypted value inside a structured key becomes outside the engine (the mock render, validate): its shape, never its value. */
export const SECURE_VALUE_PLACEHOLDER = "(encrypted: decrypted only by the engine)";

function isSecure(value: unknown): value is { secure: unknown } {
    return value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value;
}

/** A structured value with every encrypted leaf replaced by {@link SECURE_VALUE_PLACEHOLDER}. */
function withPlaceholders(value: unknown): unknown {
    if (isSecure(value)) return SECURE_VALUE_PLACEHOLDER;
    if (Array.isArray(value)) return value.map(withPlaceholders);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withPlaceholders(inner)]));
    return value;
}

/**
 * A stack's config as Pulumi hands it to a program: structured values as JSON strings. A secure
 * top-level value is left out (only the engine's secrets provider can decrypt it); a secure value
 * inside a structured one (`pulumi config set --secret --path`) becomes a placeholder, so names
 * that are checked (secret names apps reference) are still there.
 */
export function configOf(document: StackDocument): Record<string, string> {
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(document.config)) {
        if (isSecure(value)) continue;
        config[key] = typeof value === "string" ? value : JSON.stringify(withPlaceholders(value));
    }
    return config;
}

/** The stack key of named secret values: every value under it must be encrypted. */
const SECRETS_KEY = "pluggable-mesh:secrets";

/**
 * A secret value written in plain text (or the whole map encrypted as one value, whose names no
 * check could then see) is refused with the key and what to run; the value itself is never shown.
 */
function secretValueProblems(config: Record<string, unknown>, label: string): { key: string; message: string }[] {
    const secrets = config[SECRETS_KEY];
    const setOne = (name: string) => `pulumi config set --secret --path '${SECRETS_KEY}.${name}' <value>`;
    if (secrets === undefined) return [];
    if (isSecure(secrets)) return [{ key: `${label}: ${SECRETS_KEY}`, message: `is encrypted as one value; set each secret on its own path (${setOne("<name>")}) so its name can be checked before deployment` }];
    if (secrets === null || typeof secrets !== "object" || Array.isArray(secrets)) return [];
    return Object.entries(secrets)
        .filter(([, value]) => !isSecure(value))
        .map(([name]) => ({
            key: `${label}: ${SECRETS_KEY}.${name}`,
            message: `is not encrypted (its value is not shown); set it with ${setOne(name)}, and treat the plain value as leaked if it was ever committed`,
        }));
}

/** Reads `Pulumi.<stack>.yaml` as Pulumi hands config to a program (see {@link configOf}). */
export function readStackConfig(stack: string, root: string = PROJECT_ROOT): Record<string, string> {
    return configOf(readStackFile(stack, root).document);
}
