/**
 * A strict checker for envoy configuration in proto3 JSON form, driven by envoy's own v3 API protos
 * (vendored by @grpc/grpc-js-xds under `deps/`). It reads the JSON the way envoy's JSON parser does
 * (unknown fields are errors, snake_case or lowerCamel names, well-known types in their JSON forms,
 * `@type` resolved for every `Any`) and also enforces the protoc-gen-validate rules envoy checks at
 * load time that matter for static bootstraps, plus "no deprecated fields".
 *
 * Rules enforced from field options (see {@link ENFORCED_RULES}): `message.required` (and
 * `duration/any/timestamp.required`), `string.min_len/max_len/min_bytes/max_bytes`, numeric
 * `lt/lte/gt/gte/const` for every scalar kind and their wrappers, `duration.lt/lte/gt/gte`,
 * `enum.defined_only` (always: names and numbers must be defined), `repeated.min_items/max_items`
 * with `repeated.items.*` applied to each element, `map.min_pairs/max_pairs` with
 * `map.keys.*`/`map.values.*`, and the oneof option `(validate.required)`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as protobuf from "protobufjs";

/** Protos loaded up front: the bootstrap and every extension our bootstraps reference via typed_config. */
const BASE_PROTOS = [
    "envoy/config/bootstrap/v3/bootstrap.proto",
    "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
    "envoy/extensions/filters/http/router/v3/router.proto",
    "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
    "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
];

const BOOTSTRAP_TYPE = "envoy.config.bootstrap.v3.Bootstrap";

/** The protoc-gen-validate rules this checker enforces (after `(validate.rules).`), for reports. */
export const ENFORCED_RULES: readonly string[] = [
    "message.required",
    "duration.required",
    "any.required",
    "timestamp.required",
    "string.min_len",
    "string.max_len",
    "string.min_bytes",
    "string.max_bytes",
    "<int32|int64|uint32|uint64|sint*|fixed*|sfixed*|float|double>.lt/lte/gt/gte/const",
    "duration.lt/lte/gt/gte",
    "enum.defined_only",
    "repeated.min_items",
    "repeated.max_items",
    "repeated.items.*",
    "map.min_pairs",
    "map.max_pairs",
    "map.keys.*",
    "map.values.*",
    "oneof (validate.required)",
];

interface EnvoyApi {
    root: protobuf.Root;
    /** Milliseconds the base protos took to load, for curiosity and reports. */
    loadMs: number;
    /** Full message name → proto file (relative to an include dir); built on the first unknown `@type`. */
    index?: Map<string, string>;
}

let cached: EnvoyApi | undefined;

/** Include directories, in the order protoc would get them. */
function includeDirs(): string[] {
    const xds = path.dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
    const deps = path.join(xds, "deps");
    // protobufjs ships google/protobuf/descriptor.proto, which validate.proto and the annotations import.
    const protobufjsDir = path.dirname(require.resolve("protobufjs/package.json"));
    return [
        path.join(deps, "envoy-api"),
        path.join(deps, "xds"),
        path.join(deps, "googleapis"),
        path.join(deps, "protoc-gen-validate"),
        protobufjsDir,
    ];
}

function newRoot(dirs: string[]): protobuf.Root {
    const root = new protobuf.Root();
    root.resolvePath = (_origin: string, target: string): string | null => {
        if (path.isAbsolute(target) && fs.existsSync(target)) {
            return target;
        }
        for (const dir of dirs) {
            const candidate = path.join(dir, target);
            if (fs.existsSync(candidate)) {
                return candidate;
            }
        }
        return null;
    };
    return root;
}

/** Loads (once per process) envoy's protos; later calls reuse the same root. */
export function loadEnvoyApi(): { root: protobuf.Root; loadMs: number } {
    if (cached === undefined) {
        const started = Date.now();
        const root = newRoot(includeDirs());
        // keepCase: field names stay snake_case as in the .proto files; lowerCamel is derived below.
        root.loadSync(BASE_PROTOS, { keepCase: true });
        root.resolveAll();
        cached = { root, loadMs: Date.now() - started };
    }
    return { root: cached.root, loadMs: cached.loadMs };
}

/** Maps every top-level message in the include dirs to its file, by scanning `package` and `message` lines. */
function buildIndex(): Map<string, string> {
    const index = new Map<string, string>();
    for (const dir of includeDirs().slice(0, 4)) {
        for (const file of protoFiles(dir)) {
            const text = fs.readFileSync(file, "utf8");
            const pkg = /^package\s+([\w.]+)\s*;/m.exec(text)?.[1];
            if (pkg === undefined) continue;
            for (const match of text.matchAll(/^message\s+(\w+)/gm)) {
                index.set(`${pkg}.${match[1]}`, path.relative(dir, file));
            }
        }
    }
    return index;
}

function protoFiles(dir: string): string[] {
    const files: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) files.push(...protoFiles(full));
        else if (entry.name.endsWith(".proto")) files.push(full);
    }
    return files.sort();
}

/** Finds a message type by full name, loading the proto that defines it when it is not loaded yet. */
function findMessage(fullName: string): protobuf.Type | undefined {
    const { root } = loadEnvoyApi();
    const found = lookupType(root, fullName);
    if (found !== undefined) return found;
    const api = cached!;
    api.index ??= buildIndex();
    const file = api.index.get(fullName);
    if (file === undefined) return undefined;
    root.loadSync(file, { keepCase: true });
    root.resolveAll();
    return lookupType(root, fullName);
}

function lookupType(root: protobuf.Root, fullName: string): protobuf.Type | undefined {
    const found = root.lookup(fullName);
    return found instanceof protobuf.Type ? found : undefined;
}

/**
 * Checks an envoy v3 Bootstrap in proto3 JSON form. Returns every problem found, each starting
 * with its JSON path (`$.static_resources.listeners[0].name: ...`); an empty list means envoy's
 * parser and its proto validation would accept it.
 */
export function validateEnvoyBootstrap(json: unknown): string[] {
    return validateEnvoyMessage(BOOTSTRAP_TYPE, json);
}

/** Checks any envoy (or other loaded) message, e.g. `envoy.config.cluster.v3.Cluster`, in proto3 JSON form. */
export function validateEnvoyMessage(fullName: string, json: unknown): string[] {
    const type = findMessage(fullName);
    if (type === undefined) {
        return [`$: unknown message type "${fullName}"`];
    }
    const problems: string[] = [];
    checkMessage(type, json, "$", problems);
    return problems;
}

// ---------------------------------------------------------------------------------------------
// The walk

type Rules = Record<string, unknown>;

/** protobuf's JSON name: underscores dropped, the letter after each one upper-cased. */
function jsonName(field: protobuf.FieldBase): string {
    const explicit = field.options?.["json_name"];
    if (typeof explicit === "string") return explicit;
    return field.name.replace(/_(.)/g, (_match, next: string) => next.toUpperCase()).replace(/_/g, "");
}

function describe(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "an array";
    if (typeof value === "object") return "an object";
    return `${typeof value} ${JSON.stringify(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function keyPath(base: string, key: string): string {
    return /^[A-Za-z_@][\w@]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/**
 * `(validate.rules)` options of a field, flattened to dotted keys without that prefix
 * (`uint32.lte`, `duration.gt`). Read from `parsedOptions`, the structured form: the flattened
 * `options` drops empty messages such as `duration = {gt {}}` ("greater than zero").
 */
function fieldRules(field: protobuf.FieldBase): Rules {
    const rules: Rules = {};
    const flatten = (prefix: string, value: unknown): void => {
        if (isPlainObject(value) && Object.keys(value).length > 0) {
            for (const [key, inner] of Object.entries(value)) flatten(prefix === "" ? key : `${prefix}.${key}`, inner);
        } else {
            rules[prefix] = value;
        }
    };
    for (const option of (field.parsedOptions ?? []) as Record<string, unknown>[]) {
        if ("(validate.rules)" in option) flatten("", option["(validate.rules)"]);
    }
    return rules;
}

/** Rules under a prefix (`repeated.items.`), with the prefix removed. */
function subRules(rules: Rules, prefix: string): Rules {
    const sub: Rules = {};
    for (const [key, value] of Object.entries(rules)) {
        if (key.startsWith(prefix)) sub[key.slice(prefix.length)] = value;
    }
    return sub;
}

function checkMessage(type: protobuf.Type, json: unknown, at: string, problems: string[]): void {
    const special = WELL_KNOWN[type.fullName.slice(1)];
    if (special !== undefined) {
        special(json, at, problems);
        return;
    }
    if (!isPlainObject(json)) {
        problems.push(`${at}: expected a ${type.fullName.slice(1)} object, got ${describe(json)}`);
        return;
    }
    checkFields(type, json, at, problems, new Set());
}

/** Walks the keys of a message object; `skip` holds keys handled by the caller (`@type` in an Any). */
function checkFields(type: protobuf.Type, json: Record<string, unknown>, at: string, problems: string[], skip: Set<string>): void {
    const typeName = type.fullName.slice(1);
    const byName = new Map<string, protobuf.Field>();
    for (const field of type.fieldsArray) {
        byName.set(field.name, field);
        byName.set(jsonName(field), field);
    }
    const present = new Map<protobuf.Field, string>();
    for (const [key, value] of Object.entries(json)) {
        if (skip.has(key)) continue;
        const where = keyPath(at, key);
        const field = byName.get(key);
        if (field === undefined) {
            problems.push(`${where}: unknown field "${key}" in ${typeName}`);
            continue;
        }
        const other = present.get(field);
        if (other !== undefined) {
            problems.push(`${where}: field "${field.name}" of ${typeName} is set twice ("${other}" and "${key}")`);
            continue;
        }
        // proto3 JSON reads null as "not set", except for google.protobuf.Value where it is a value.
        if (value === null && field.type !== "google.protobuf.Value" && !field.type.endsWith(".google.protobuf.Value")) {
            continue;
        }
        present.set(field, key);
        if (field.options?.["deprecated"] === true) {
            problems.push(`${where}: field "${field.name}" of ${typeName} is deprecated; use its replacement`);
        }
        checkField(field, value, where, problems);
    }
    for (const field of type.fieldsArray) {
        // PGV checks rules of a oneof member only when that member is the one set.
        if (field.partOf !== null && field.partOf !== undefined) continue;
        const rules = fieldRules(field);
        const required = ["message.required", "duration.required", "any.required", "timestamp.required"].some((rule) => rules[rule] === true);
        if (required && !present.has(field)) {
            problems.push(`${keyPath(at, field.name)}: required field "${field.name}" of ${typeName} is missing`);
        }
    }
    for (const oneof of type.oneofsArray) {
        const set = oneof.fieldsArray.filter((field) => present.has(field)).map((field) => present.get(field)!);
        if (set.length > 1) {
            problems.push(`${at}: oneof "${oneof.name}" of ${typeName} has ${set.length} members set (${set.join(", ")}); set at most one`);
        }
        if (set.length === 0 && oneof.options?.["(validate.required)"] === true) {
            problems.push(`${at}: oneof "${oneof.name}" of ${typeName} needs one of ${oneof.fieldsArray.map((f) => f.name).join(", ")}`);
        }
    }
}

function checkField(field: protobuf.FieldBase, value: unknown, at: string, problems: string[]): void {
    const rules = fieldRules(field);
    if (field instanceof protobuf.MapField) {
        checkMap(field, value, at, problems, rules);
        return;
    }
    if (field.repeated) {
        if (!Array.isArray(value)) {
            problems.push(`${at}: expected an array (repeated ${field.type}), got ${describe(value)}`);
            return;
        }
        countRule(rules, "repeated.min_items", "repeated.max_items", value.length, "items", at, problems);
        const itemRules = subRules(rules, "repeated.items.");
        value.forEach((item, i) => {
            const where = `${at}[${i}]`;
            if (item === null) {
                problems.push(`${where}: null is not allowed in a repeated field`);
                return;
            }
            checkSingle(field, item, where, problems, itemRules);
        });
        return;
    }
    checkSingle(field, value, at, problems, rules);
}

function checkMap(field: protobuf.MapField, value: unknown, at: string, problems: string[], rules: Rules): void {
    if (!isPlainObject(value)) {
        problems.push(`${at}: expected an object (map<${field.keyType}, ${field.type}>), got ${describe(value)}`);
        return;
    }
    const entries = Object.entries(value);
    countRule(rules, "map.min_pairs", "map.max_pairs", entries.length, "entries", at, problems);
    const keyRules = subRules(rules, "map.keys.");
    const valueRules = subRules(rules, "map.values.");
    for (const [key, item] of entries) {
        const where = keyPath(at, key);
        checkScalar(field.keyType, mapKeyValue(field.keyType, key), where, problems, keyRules, true);
        if (item === null) {
            problems.push(`${where}: null is not allowed as a map value`);
            continue;
        }
        checkSingle(field, item, where, problems, valueRules);
    }
}

/** Map keys are JSON strings; integer and bool keys are checked as the numbers/booleans they spell. */
function mapKeyValue(keyType: string, key: string): unknown {
    if (keyType === "bool") return key === "true" ? true : key === "false" ? false : key;
    if (keyType !== "string") return /^-?\d+$/.test(key) ? key : Number.NaN;
    return key;
}

function countRule(rules: Rules, minKey: string, maxKey: string, count: number, noun: string, at: string, problems: string[]): void {
    const min = toNumber(rules[minKey]);
    const max = toNumber(rules[maxKey]);
    if (min !== undefined && count < min) problems.push(`${at}: has ${count} ${noun}; at least ${min} required (${minKey})`);
    if (max !== undefined && count > max) problems.push(`${at}: has ${count} ${noun}; at most ${max} allowed (${maxKey})`);
}

function toNumber(value: unknown): number | undefined {
    if (typeof value === "number") return value;
    if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
    return undefined;
}

/** One value of a field (an element when repeated, a value when a map). */
function checkSingle(field: protobuf.FieldBase, value: unknown, at: string, problems: string[], rules: Rules): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) {
        checkMessage(resolved, value, at, problems);
        const wrapped = WRAPPERS[resolved.fullName.slice(1)];
        if (wrapped !== undefined && !problems.some((p) => p.startsWith(`${at}:`))) {
            // PGV puts wrapper rules under the scalar kind, e.g. `uint32.gte` on a UInt32Value.
            numericRules(wrapped, value, at, problems, rules);
        }
        if (resolved.fullName === ".google.protobuf.Duration") {
            durationRules(value, at, problems, rules);
        }
        return;
    }
    if (resolved instanceof protobuf.Enum) {
        checkEnum(resolved, value, at, problems);
        return;
    }
    checkScalar(field.type, value, at, problems, rules, false);
}

function checkEnum(type: protobuf.Enum, value: unknown, at: string, problems: string[]): void {
    const name = type.fullName.slice(1);
    if (name === "google.protobuf.NullValue") {
        if (value !== null && value !== "NULL_VALUE" && value !== 0) problems.push(`${at}: expected null, got ${describe(value)}`);
        return;
    }
    const known = Object.keys(type.values);
    let valueName: string | undefined;
    if (typeof value === "string") {
        valueName = known.includes(value) ? value : undefined;
    } else if (typeof value === "number" && Number.isInteger(value)) {
        valueName = known.find((key) => type.values[key] === value);
    } else {
        problems.push(`${at}: expected a ${name} name or number, got ${describe(value)}`);
        return;
    }
    if (valueName === undefined) {
        problems.push(`${at}: ${JSON.stringify(value)} is not a value of ${name}; use one of ${known.join(", ")}`);
        return;
    }
    if (type.valuesOptions?.[valueName]?.["deprecated"] === true) {
        problems.push(`${at}: ${name}.${valueName} is deprecated`);
    }
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
    int32: [-(2n ** 31n), 2n ** 31n - 1n],
    sint32: [-(2n ** 31n), 2n ** 31n - 1n],
    sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
    uint32: [0n, 2n ** 32n - 1n],
    fixed32: [0n, 2n ** 32n - 1n],
    int64: [-(2n ** 63n), 2n ** 63n - 1n],
    sint64: [-(2n ** 63n), 2n ** 63n - 1n],
    sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
    uint64: [0n, 2n ** 64n - 1n],
    fixed64: [0n, 2n ** 64n - 1n],
};

function checkScalar(kind: string, value: unknown, at: string, problems: string[], rules: Rules, isMapKey: boolean): void {
    const range = INT_RANGES[kind];
    if (range !== undefined) {
        const integer = parseInteger(value);
        if (integer === undefined) {
            problems.push(`${at}: expected ${isMapKey ? "a map key of type " : ""}${kind} (an integer${isMapKey ? "" : " or integer string"}), got ${describe(value)}`);
        } else if (integer < range[0] || integer > range[1]) {
            problems.push(`${at}: ${integer} is out of range for ${kind}`);
        } else {
            numericRules(kind, value, at, problems, rules);
        }
        return;
    }
    switch (kind) {
        case "double":
        case "float":
            if (!(typeof value === "number" && Number.isFinite(value)) && !(typeof value === "string" && /^(NaN|-?Infinity|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/.test(value))) {
                problems.push(`${at}: expected a number (${kind}), got ${describe(value)}`);
            } else {
                numericRules(kind, value, at, problems, rules);
            }
            return;
        case "bool":
            if (typeof value !== "boolean") problems.push(`${at}: expected a boolean, got ${describe(value)}`);
            return;
        case "string":
            if (typeof value !== "string") problems.push(`${at}: expected a string, got ${describe(value)}`);
            else stringRules(value, at, problems, rules);
            return;
        case "bytes":
            if (typeof value !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
                problems.push(`${at}: expected base64 bytes, got ${describe(value)}`);
            }
            return;
        default:
            problems.push(`${at}: unsupported scalar type ${kind}`);
    }
}

function parseInteger(value: unknown): bigint | undefined {
    if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : undefined;
    if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
    return undefined;
}

function stringRules(value: string, at: string, problems: string[], rules: Rules): void {
    const chars = [...value].length;
    const bytes = Buffer.byteLength(value, "utf8");
    const checks: [string, number, (limit: number) => boolean][] = [
        ["string.min_len", chars, (limit) => chars >= limit],
        ["string.max_len", chars, (limit) => chars <= limit],
        ["string.min_bytes", bytes, (limit) => bytes >= limit],
        ["string.max_bytes", bytes, (limit) => bytes <= limit],
    ];
    for (const [rule, actual, ok] of checks) {
        const limit = toNumber(rules[rule]);
        if (limit !== undefined && !ok(limit)) {
            problems.push(`${at}: length ${actual} of ${JSON.stringify(value)} violates ${rule} ${limit}`);
        }
    }
}

/** `<kind>.lt/lte/gt/gte/const` on a number (or wrapper value). */
function numericRules(kind: string, value: unknown, at: string, problems: string[], rules: Rules): void {
    const actual = typeof value === "string" ? Number(value) : typeof value === "number" ? value : Number.NaN;
    const comparisons: [string, (limit: number) => boolean, string][] = [
        ["lt", (limit) => actual < limit, "<"],
        ["lte", (limit) => actual <= limit, "<="],
        ["gt", (limit) => actual > limit, ">"],
        ["gte", (limit) => actual >= limit, ">="],
        ["const", (limit) => actual === limit, "=="],
    ];
    for (const [name, ok, symbol] of comparisons) {
        const limit = toNumber(rules[`${kind}.${name}`]);
        if (limit !== undefined && !ok(limit)) {
            problems.push(`${at}: ${JSON.stringify(value)} violates ${kind}.${name} (must be ${symbol} ${limit})`);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Well-known types in their JSON forms

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
/** protobuf's bound on Duration: ±10,000 years in seconds. */
const MAX_DURATION_SECONDS = 315576000000n;

function durationNanos(value: string): bigint | undefined {
    const match = DURATION.exec(value);
    if (match === null) return undefined;
    const seconds = BigInt(match[2]!);
    if (seconds > MAX_DURATION_SECONDS) return undefined;
    const nanos = BigInt((match[3] ?? "").padEnd(9, "0"));
    const total = seconds * 1_000_000_000n + nanos;
    return match[1] === "-" ? -total : total;
}

function durationRules(value: unknown, at: string, problems: string[], rules: Rules): void {
    if (typeof value !== "string") return;
    const actual = durationNanos(value);
    if (actual === undefined) return;
    const comparisons: [string, (limit: bigint) => boolean, string][] = [
        ["lt", (limit) => actual < limit, "<"],
        ["lte", (limit) => actual <= limit, "<="],
        ["gt", (limit) => actual > limit, ">"],
        ["gte", (limit) => actual >= limit, ">="],
    ];
    for (const [name, ok, symbol] of comparisons) {
        const seconds = rules[`duration.${name}.seconds`];
        const nanos = rules[`duration.${name}.nanos`];
        // `duration = {gt {}}` has no sub-keys; protobufjs keeps it as an empty object option.
        const present = seconds !== undefined || nanos !== undefined || rules[`duration.${name}`] !== undefined;
        if (!present) continue;
        const limit = BigInt(toNumber(seconds) ?? 0) * 1_000_000_000n + BigInt(toNumber(nanos) ?? 0);
        if (!ok(limit)) {
            problems.push(`${at}: ${JSON.stringify(value)} violates duration.${name} (must be ${symbol} ${formatNanos(limit)})`);
        }
    }
}

function formatNanos(nanos: bigint): string {
    const seconds = Number(nanos) / 1e9;
    return `${seconds}s`;
}

/** Wrapper message → the scalar kind its JSON form is. */
const WRAPPERS: Record<string, string> = {
    "google.protobuf.DoubleValue": "double",
    "google.protobuf.FloatValue": "float",
    "google.protobuf.Int64Value": "int64",
    "google.protobuf.UInt64Value": "uint64",
    "google.protobuf.Int32Value": "int32",
    "google.protobuf.UInt32Value": "uint32",
    "google.protobuf.BoolValue": "bool",
    "google.protobuf.StringValue": "string",
    "google.protobuf.BytesValue": "bytes",
};

type SpecialCheck = (json: unknown, at: string, problems: string[]) => void;

const WELL_KNOWN: Record<string, SpecialCheck> = {
    "google.protobuf.Any": checkAny,
    "google.protobuf.Duration": (json, at, problems) => {
        if (typeof json !== "string" || durationNanos(json) === undefined) {
            problems.push(`${at}: expected a google.protobuf.Duration string like "1.5s", got ${describe(json)}`);
        }
    },
    "google.protobuf.Timestamp": (json, at, problems) => {
        if (typeof json !== "string" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(json)) {
            problems.push(`${at}: expected an RFC 3339 timestamp string, got ${describe(json)}`);
        }
    },
    "google.protobuf.FieldMask": (json, at, problems) => {
        if (typeof json !== "string") problems.push(`${at}: expected a field mask string, got ${describe(json)}`);
    },
    "google.protobuf.Struct": (json, at, problems) => {
        if (!isPlainObject(json)) problems.push(`${at}: expected an object (google.protobuf.Struct), got ${describe(json)}`);
    },
    "google.protobuf.ListValue": (json, at, problems) => {
        if (!Array.isArray(json)) problems.push(`${at}: expected an array (google.protobuf.ListValue), got ${describe(json)}`);
    },
    "google.protobuf.Value": (json, at, problems) => {
        if (json === undefined) problems.push(`${at}: expected a JSON value`);
    },
    ...Object.fromEntries(
        Object.entries(WRAPPERS).map(([name, kind]): [string, SpecialCheck] => [
            name,
            (json, at, problems) => checkScalar(kind, json, at, problems, {}, false),
        ]),
    ),
};

/** An Any carries its type in `@type`; its other keys are that message's fields (or `value` for well-known types). */
function checkAny(json: unknown, at: string, problems: string[]): void {
    if (!isPlainObject(json)) {
        problems.push(`${at}: expected a google.protobuf.Any object with "@type", got ${describe(json)}`);
        return;
    }
    const typeUrl = json["@type"];
    const where = `${at}.@type`;
    if (typeof typeUrl !== "string" || !typeUrl.includes("/")) {
        problems.push(`${where}: expected a type URL like "type.googleapis.com/<full.message.Name>", got ${describe(typeUrl)}`);
        return;
    }
    const name = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
    const type = findMessage(name);
    if (type === undefined) {
        problems.push(`${where}: unknown type "${typeUrl}"; no message ${name} in envoy's API protos`);
        return;
    }
    if (WELL_KNOWN[name] !== undefined) {
        for (const key of Object.keys(json)) {
            if (key !== "@type" && key !== "value") problems.push(`${keyPath(at, key)}: unknown field "${key}" in an Any of ${name} (use "value")`);
        }
        if ("value" in json) checkMessage(type, json["value"], `${at}.value`, problems);
        return;
    }
    checkFields(type, json, at, problems, new Set(["@type"]));
}
