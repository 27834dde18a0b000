/**
 * The pure half of `npm run bench:engine` (bench/engine.ts): its options, how a fleet is split
 * into stacks, medians, ratios and the Markdown tables. Nothing here runs the engine.
 */
import { parseArgs } from "node:util";

export const VARIANTS = ["program", "flat"] as const;
export type Variant = (typeof VARIANTS)[number];

/** `on`: the engine writes the state after every step (Pulumi's default); `off`: once per operation (PULUMI_SKIP_CHECKPOINTS). */
export type Checkpoints = "on" | "off";

export interface BenchOptions {
    /** Fleet sizes in components. @default [10, 100, 1000] */
    sizes: number[];
    /** Runs per size; medians are printed. @default 1 */
    runs: number;
    /** Checkpoint settings to measure. @default ["off"] (what the embedded default does in render mode) */
    checkpoints: Checkpoints[];
    /** Components per stack: larger fleets are split into stacks of at most this many. @default 100 */
    stackSize: number;
    /** What is measured after `up`: a no-change `preview`, `destroy` (a stack left standing is deleted with its folders). @default ["up", "preview", "destroy"] */
    operations: Operation[];
}

export const OPERATION_NAMES = ["up", "preview", "destroy"] as const;
export type Operation = (typeof OPERATION_NAMES)[number];

export const USAGE = `usage: npm run bench:engine -- [--sizes 10,100,1000] [--runs 1] [--checkpoints off|on|both] [--stack-size 100] [--operations up,preview,destroy]
  --sizes        fleet sizes in components (apps of ten), comma-separated
  --runs         runs per size; with more than one, medians are printed
  --checkpoints  off: the state is written once per operation (PULUMI_SKIP_CHECKPOINTS, the embedded
                 default in render mode); on: after every step (Pulumi's default); both
  --stack-size   components per stack: a larger fleet is split into stacks of at most this many
  --operations   what is timed: up and, after it, a no-change preview and destroy`;

/** A command line the bench cannot run; the message says which option and what is allowed. */
export class BenchUsageError extends Error {}

function positiveInteger(option: string, text: string, max: number): number {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1 || value > max) {
        throw new BenchUsageError(`--${option}: expected a whole number from 1 to ${max}, given ${JSON.stringify(text.slice(0, 40))}`);
    }
    return value;
}

/** Parses the bench's command line (strict: an unknown option is an error). */
export function parseBenchOptions(argv: readonly string[]): BenchOptions {
    let values;
    try {
        ({ values } = parseArgs({
            args: [...argv],
            options: {
                sizes: { type: "string", default: "10,100,1000" },
                runs: { type: "string", default: "1" },
                checkpoints: { type: "string", default: "off" },
                "stack-size": { type: "string", default: "100" },
                operations: { type: "string", default: OPERATION_NAMES.join(",") },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (error) {
        throw new BenchUsageError((error as Error).message.split("\n")[0]!);
    }
    const sizes = values.sizes!.split(",").map((size) => positiveInteger("sizes", size.trim(), 10_000));
    if (new Set(sizes).size !== sizes.length) throw new BenchUsageError(`--sizes: each size once, given ${JSON.stringify(values.sizes!.slice(0, 40))}`);
    const checkpoints = { off: ["off"], on: ["on"], both: ["off", "on"] }[values.checkpoints!] as Checkpoints[] | undefined;
    if (!checkpoints) throw new BenchUsageError(`--checkpoints: expected off, on or both, given ${JSON.stringify(values.checkpoints!.slice(0, 40))}`);
    const operations = values.operations!.split(",").map((name) => name.trim());
    const unknown = operations.find((name) => !(OPERATION_NAMES as readonly string[]).includes(name));
    if (unknown !== undefined || !operations.includes("up")) {
        throw new BenchUsageError(`--operations: expected up and any of preview, destroy, given ${JSON.stringify(values.operations!.slice(0, 40))}`);
    }
    return {
        sizes,
        runs: positiveInteger("runs", values.runs!, 100),
        checkpoints,
        stackSize: positiveInteger("stack-size", values["stack-size"]!, 10_000),
        operations: OPERATION_NAMES.filter((name) => operations.includes(name)),
    };
}

/** One stack of a split fleet: `components` components whose apps are numbered from `firstApp`. */
export interface StackPart {
    index: number;
    components: number;
    firstApp: number;
}

/**
 * A fleet of `size` components in stacks of at most `stackSize` (rounded down to whole apps of
 * `perApp`), the stacks as even as whole apps allow.
 */
export function splitFleet(size: number, stackSize: number, perApp: number): StackPart[] {
    const apps = Math.ceil(size / perApp);
    const appsPerStack = Math.max(1, Math.floor(stackSize / perApp));
    const stacks = Math.ceil(apps / appsPerStack);
    const parts: StackPart[] = [];
    let firstApp = 0;
    for (let index = 0; index < stacks; index++) {
        const appCount = Math.floor(apps / stacks) + (index < apps % stacks ? 1 : 0);
        const components = Math.min(size, (firstApp + appCount) * perApp) - firstApp * perApp;
        parts.push({ index, components, firstApp });
        firstApp += appCount;
    }
    return parts;
}

/** What one stack's measurement reports (one child process). */
export interface StackSample {
    upMs: number;
    previewMs: number;
    destroyMs: number;
    /** Resources in the state after `up` (components, providers and the stack included). */
    resources: number;
    /** Kubernetes objects in the state after `up`. */
    objects: number;
    /** Max RSS of the child process that ran the program through the Automation API. */
    programMiB: number;
    /** Peak RSS of the engine (the pulumi CLI and its provider) during the measurement. */
    engineMiB: number;
}

/**
 * A whole fleet, one variant, one run: its stacks deployed one after the other. The fields of a
 * stack's sample, combined over the stacks (times and counts summed, memory the largest stack's).
 */
export interface FleetSample extends StackSample {
    stacks: number;
}

/** Each of `keys` of `samples` combined into one number. */
function fieldwise<S, K extends keyof S & string>(samples: readonly S[], keys: readonly K[], combine: (values: number[]) => number): Record<K, number> {
    return Object.fromEntries(keys.map((key) => [key, combine(samples.map((sample) => sample[key] as number))])) as Record<K, number>;
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const ADDED_UP = ["upMs", "previewMs", "destroyMs", "resources", "objects"] as const;
const PEAKS = ["programMiB", "engineMiB"] as const;

/** Times and counts add up over the stacks; memory is the peak of any one of them. */
export function fleetSample(stacks: readonly StackSample[]): FleetSample {
    return { stacks: stacks.length, ...fieldwise(stacks, ADDED_UP, sum), ...fieldwise(stacks, PEAKS, (values) => Math.max(...values)) };
}

export function median(values: readonly number[]): number {
    if (values.length === 0) throw new Error("median of no values");
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of each field over runs. */
export function medianSample(runs: readonly FleetSample[]): FleetSample {
    return fieldwise(runs, ["stacks", ...ADDED_UP, ...PEAKS], median);
}

/** One fleet size at one checkpoint setting: the medians of both variants. */
export interface SizeResult {
    size: number;
    checkpoints: Checkpoints;
    runs: number;
    program: FleetSample;
    flat: FleetSample;
}

const OPERATIONS = [
    ["up", "upMs"],
    ["preview", "previewMs"],
    ["destroy", "destroyMs"],
] as const;

export interface Ratios {
    size: number;
    checkpoints: Checkpoints;
    /** program / flat, per operation. */
    programOverFlat: Record<"up" | "preview" | "destroy", number>;
}

export function ratios(result: SizeResult): Ratios {
    const programOverFlat = Object.fromEntries(OPERATIONS.map(([name, key]) => [name, result.program[key] / result.flat[key]])) as Ratios["programOverFlat"];
    return { size: result.size, checkpoints: result.checkpoints, programOverFlat };
}

export interface Scaling {
    checkpoints: Checkpoints;
    variant: Variant;
    from: number;
    to: number;
    /** Time per component at `to` over time per component at `from`, per operation (1 is linear). */
    perComponent: Record<"up" | "preview" | "destroy", number>;
}

/** Per-component time of each size over that of the next smaller size measured, per variant and checkpoint setting. */
export function scaling(results: readonly SizeResult[]): Scaling[] {
    const out: Scaling[] = [];
    for (const checkpoints of [...new Set(results.map((result) => result.checkpoints))]) {
        const sized = results.filter((result) => result.checkpoints === checkpoints).sort((a, b) => a.size - b.size);
        for (let index = 1; index < sized.length; index++) {
            const [from, to] = [sized[index - 1]!, sized[index]!];
            for (const variant of VARIANTS) {
                const perComponent = Object.fromEntries(OPERATIONS.map(([name, key]) => [name, to[variant][key] / to.size / (from[variant][key] / from.size)])) as Scaling["perComponent"];
                out.push({ checkpoints, variant, from: from.size, to: to.size, perComponent });
            }
        }
    }
    return out;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
    const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
    return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A figure, or a dash for an operation that was not measured (NaN; null in JSON). */
const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "—");
const seconds = (ms: number) => fixed(ms / 1000, 1);
const CHECKPOINTS_LABEL: Record<Checkpoints, string> = { off: "skipped", on: "written" };

/** The three Markdown tables: times and memory per variant, program/flat ratios, per-component scaling. */
export function markdownReport(results: readonly SizeResult[]): string {
    const timing = table(
        ["components", "stacks", "checkpoints", "variant", "resources (k8s objects)", "up s", "preview s", "destroy s", "up objects/s", "up ms/component", "preview ms/component", "destroy ms/component", "engine peak MiB", "program peak MiB"],
        results.flatMap((result) =>
            VARIANTS.map((variant) => {
                const sample = result[variant];
                return [
                    String(result.size),
                    String(sample.stacks),
                    CHECKPOINTS_LABEL[result.checkpoints],
                    variant,
                    `${sample.resources} (${sample.objects})`,
                    seconds(sample.upMs),
                    seconds(sample.previewMs),
                    seconds(sample.destroyMs),
                    fixed(sample.objects / (sample.upMs / 1000), 1),
                    fixed(sample.upMs / result.size, 0),
                    fixed(sample.previewMs / result.size, 0),
                    fixed(sample.destroyMs / result.size, 0),
                    fixed(sample.engineMiB, 0),
                    fixed(sample.programMiB, 0),
                ];
            }),
        ),
    );
    const programOverFlat = table(
        ["components", "checkpoints", "up program/flat", "preview program/flat", "destroy program/flat"],
        results.map(ratios).map((ratio) => [String(ratio.size), CHECKPOINTS_LABEL[ratio.checkpoints], ...OPERATIONS.map(([name]) => fixed(ratio.programOverFlat[name], 2))]),
    );
    const scaled = scaling(results);
    const perComponent = table(
        ["checkpoints", "variant", "sizes", "up per component", "preview per component", "destroy per component"],
        scaled.map((entry) => [CHECKPOINTS_LABEL[entry.checkpoints], entry.variant, `${entry.to} vs ${entry.from}`, ...OPERATIONS.map(([name]) => fixed(entry.perComponent[name], 2))]),
    );
    return [timing, "", programOverFlat, ...(scaled.length > 0 ? ["", perComponent] : [])].join("\n");
}
