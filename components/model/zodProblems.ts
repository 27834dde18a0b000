import type { z } from "zod";
import type { Problem } from "./problems";
import { describeKind, given, MAX_SHOWN_CHARACTERS, secretGiven } from "./userText";

type PathSegment = PropertyKey;

/** Renders a zod path as the user wrote it: `components[2].ports[0].port`. */
export function formatPath(path: readonly PathSegment[]): string {
    let text = "";
    for (const segment of path) {
        if (typeof segment === "number") {
            text += `[${segment}]`;
        } else {
            // Keys are user text too (record keys such as variable names): a long one is clipped like any value.
            const name = String(segment).length > MAX_SHOWN_CHARACTERS ? given(String(segment)) : String(segment);
            text += text.length === 0 ? name : `.${name}`;
        }
    }
    return text;
}

/** Edit distance with transpositions (optimal string alignment): "enabeld" is one edit from "enabled". */
function editDistance(a: string, b: string): number {
    const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
            rows[i]![j] = best;
        }
    }
    return rows[a.length]![b.length]!;
}

/** The allowed name closest to a mistyped one, when it is close enough to be a typo (case and separators ignored first). */
export function closestName(name: string, allowed: readonly string[]): string | undefined {
    const loose = (text: string) => text.toLowerCase().replace(/[-_.\s]/g, "");
    const exact = allowed.find((candidate) => loose(candidate) === loose(name));
    if (exact !== undefined) return exact;
    // Far longer than every allowed name: no typo of one (and no quadratic work on a hostile key).
    if (name.length > Math.max(...allowed.map((candidate) => candidate.length)) * 2) return undefined;
    let best: { name: string; distance: number } | undefined;
    for (const candidate of allowed) {
        const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
        if (best === undefined || distance < best.distance) best = { name: candidate, distance };
    }
    return best !== undefined && best.distance <= Math.max(2, Math.floor(name.length / 4)) ? best.name : undefined;
}

/** "did you mean "x"? " when one allowed name is close, else nothing. */
export function didYouMean(name: string, allowed: readonly string[]): string {
    const closest = closestName(name, allowed);
    return closest === undefined ? "" : `did you mean ${JSON.stringify(closest)}? `;
}

type AnySchema = z.core.$ZodType;

/** The fields of the object schema at `path` inside `schema` (through defaults, optionals, arrays, records and pipes). */
export function fieldsAt(schema: AnySchema, path: readonly PathSegment[]): string[] | undefined {
    let current: AnySchema | undefined = schema;
    const unwrap = (node: AnySchema): AnySchema => {
        let inner = node;
        for (let depth = 0; depth < 10; depth++) {
            const def = inner._zod.def as unknown as { type: string; innerType?: AnySchema; in?: AnySchema };
            if ((def.type === "default" || def.type === "optional" || def.type === "nullable" || def.type === "prefault") && def.innerType) inner = def.innerType;
            else if (def.type === "pipe" && def.in) inner = def.in;
            else break;
        }
        return inner;
    };
    for (const segment of path) {
        if (current === undefined) return undefined;
        const def = unwrap(current)._zod.def as unknown as { type: string; shape?: Record<string, AnySchema>; element?: AnySchema; valueType?: AnySchema; options?: AnySchema[] };
        if (def.type === "object" && typeof segment === "string") current = def.shape?.[segment];
        else if (def.type === "array" && typeof segment === "number") current = def.element;
        else if (def.type === "record") current = def.valueType;
        else if (def.type === "union") current = def.options?.find((option) => (unwrap(option)._zod.def as { type: string }).type === "object");
        else return undefined;
    }
    if (current === undefined) return undefined;
    let def = unwrap(current)._zod.def as unknown as { type: string; shape?: Record<string, AnySchema>; options?: AnySchema[] };
    if (def.type === "union") {
        const object = def.options?.find((option) => (unwrap(option)._zod.def as { type: string }).type === "object");
        if (object) def = unwrap(object)._zod.def as unknown as typeof def;
    }
    return def.type === "object" && def.shape ? Object.keys(def.shape) : undefined;
}

/**
 * `__proto__` keys anywhere in a parsed document (YAML and JSON parsers keep them as own keys). zod
 * drops them without a word, so a variable or field named so would vanish; they are refused instead.
 */
export function prototypeKeyProblems(value: unknown, keyOf: (path: string) => string, path: PathSegment[] = []): Problem[] {
    if (Array.isArray(value)) return value.flatMap((item, index) => prototypeKeyProblems(item, keyOf, [...path, index]));
    if (value === null || typeof value !== "object") return [];
    return Object.getOwnPropertyNames(value).flatMap((name) =>
        name === "__proto__"
            ? [{ key: keyOf(formatPath([...path, name])), message: `"__proto__" cannot be a key (JavaScript objects drop it silently); rename it` }]
            : prototypeKeyProblems((value as Record<string, unknown>)[name], keyOf, [...path, name]),
    );
}

/** How values are shown in the problems of one document. */
export interface ZodProblemOptions {
    /** The schema that was parsed: unknown fields are answered with its allowed fields and the closest one. */
    schema?: AnySchema;
    /** Paths (as {@link formatPath} writes them) whose values, and everything under them, are secrets: never shown. @default [] */
    secretPaths?: readonly string[];
    /**
     * Whether the value at the top level is a whole file the user pointed at: then only its kind is
     * shown (a file that is not an app spec may be anything, e.g. /etc/passwd). @default false
     */
    hideDocument?: boolean;
}

/** What was expected, in words a user of the YAML files understands. */
function describeIssue(issue: z.core.$ZodIssue, options: ZodProblemOptions): string {
    const at = formatPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    const show = (value: unknown): string =>
        isSecretPath(at, options.secretPaths) ? secretGiven(value) : options.hideDocument && issue.path.length === 0 && value !== undefined ? describeKind(value) : given(value);
    switch (issue.code) {
        case "invalid_type":
            return input === undefined ? `is required (expected ${issue.expected})` : `expected ${issue.expected === "object" ? "a mapping" : issue.expected}, given ${show(input)}`;
        case "invalid_value":
            // A schema's own message (e.g. `"consul" is not a mode; ...`) wins over the generic one; zod's defaults start with "Invalid".
            return issue.message.startsWith("Invalid") ? `${show(input)} is not allowed; use one of ${issue.values.map((value) => String(value)).join(", ")}` : issue.message;
        case "unrecognized_keys": {
            const allowed = options.schema ? fieldsAt(options.schema, issue.path) : undefined;
            const names = issue.keys.map((key) => {
                const hint = allowed ? didYouMean(key, allowed).trim() : "";
                return hint ? `${given(key)} (${hint})` : given(key);
            });
            const fields = `unknown field${issue.keys.length > 1 ? "s" : ""} ${names.join(", ")}`;
            return allowed ? `${fields}; allowed fields: ${allowed.join(", ")}` : fields;
        }
        case "too_small":
            return issue.origin === "string" || issue.origin === "array"
                ? `expected at least ${String(issue.minimum)} ${issue.origin === "string" ? "characters" : "items"}, given ${show(input)}`
                : `expected at least ${String(issue.minimum)}, given ${show(input)}`;
        case "too_big":
            return issue.origin === "string" || issue.origin === "array"
                ? `expected at most ${String(issue.maximum)} ${issue.origin === "string" ? "characters" : "items"}, given ${show(input)}`
                : `expected at most ${String(issue.maximum)}, given ${show(input)}`;
        case "invalid_union":
            return `${show(input)} matches none of the allowed shapes`;
        case "invalid_key": {
            // A record's key refused by its key schema: our rules say what is wrong with it.
            const inner = issue.issues[0];
            // Our own messages (custom rules, or a regex's error) name the key; zod's defaults start with "Invalid".
            return inner !== undefined && (inner.code === "custom" || !inner.message.startsWith("Invalid")) ? inner.message : `${show(input)} is not an allowed key`;
        }
        case "custom":
            // Our syntax rules and refinements write the whole message, value included (clipped).
            return issue.message;
        default:
            // Format checks with our own message already name the value; zod's own ("Invalid URL") get it appended.
            return input === undefined || issue.message.includes("given") ? issue.message : `${issue.message}, given ${show(input)}`;
    }
}

/** Whether a path is a secret one or lies under one (`secrets.dbPassword` under `secrets`). */
function isSecretPath(at: string, secretPaths: readonly string[] = []): boolean {
    return secretPaths.some((secret) => at === secret || at.startsWith(`${secret}.`) || at.startsWith(`${secret}[`));
}

/**
 * Converts every zod issue into a Problem whose key is built by `keyOf` from the issue's path, so
 * stack config and app spec files each name their problems in their own way. Values are shown
 * through {@link given} (clipped), secrets never.
 */
export function zodProblems(error: z.ZodError, keyOf: (path: string) => string, options: ZodProblemOptions = {}): Problem[] {
    return error.issues.flatMap(unionBranch).map((issue) => ({ key: keyOf(formatPath(issue.path)), message: describeIssue(issue, options) }));
}

/**
 * A union refused as a whole says little ("matches none of the allowed shapes"). When exactly one
 * branch got past the value's type (the object form of a dependency, say), its own issues say
 * what is wrong, with their full paths.
 */
function unionBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
    if (issue.code !== "invalid_union") return [issue];
    const typed = issue.errors.filter((branch) => !(branch.length === 1 && branch[0]!.code === "invalid_type" && branch[0]!.path.length === 0));
    if (typed.length !== 1) return [issue];
    return typed[0]!.flatMap((inner) => unionBranch({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
}
