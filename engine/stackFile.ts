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

/** A stack's config as Pulumi hands it to a program: structured values as JSON strings, secure values left out. */
export function configOf(document: StackDocument): Record<string, string> {
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(document.config)) {
        if (value !== null && typeof value === "object" && "secure" in value) {
            continue; // Encrypted values need the stack's secrets provider, which only the engine has.
        }
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return config;
}

/** Reads `Pulumi.<stack>.yaml` as Pulumi hands config to a program (see {@link configOf}). */
export function readStackConfig(stack: string, root: string = PROJECT_ROOT): Record<string, string> {
    return configOf(readStackFile(stack, root).document);
}
