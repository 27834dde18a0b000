import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../components/resources";
import { UserError } from "../engine/errors";
import { PROJECT_ROOT } from "../tools/tools";

/**
 * How every command in cli/ starts and ends: its options are parsed strictly (an unknown option or
 * a missing value is a usage error), `--help` prints its usage, and whatever it throws becomes one
 * message on stderr.
 *
 * | outcome                                     | printed                                   | exit |
 * |---------------------------------------------|-------------------------------------------|------|
 * | `--help` / `-h`                             | the usage, on stdout                      | 0    |
 * | unknown option, missing value, bad command  | `error: ...` and the usage                | 2    |
 * | a user mistake (ConfigError, UserError)     | `error: <message>`                        | 1    |
 * | the Pulumi engine failed (its output shown) | `error: <the engine's stderr>`            | 1    |
 * | anything else: a bug in pluggable-mesh      | `internal error: <message>` and a hint    | 1    |
 *
 * No stack trace is printed unless `PLUGGABLE_MESH_DEBUG=1` is set; stack frames inside messages
 * (the engine's or a bug's) are dropped and the project's own path is cut from every path.
 */

/** Set to 1 (or true) to see stack traces of failures. */
export const DEBUG_VARIABLE = "PLUGGABLE_MESH_DEBUG";

/** A command line the command cannot run: an unknown option, a missing value, no such subcommand. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** Thrown by parseCommandLine after printing the usage for `--help`; it ends the command with 0. */
class HelpShown extends Error {}

export interface CommandSpec {
    /** Usage text, printed for `--help` and after a usage error. */
    usage: string;
    options?: ParseArgsConfig["options"];
    allowPositionals?: boolean;
}

type Parsed<S extends CommandSpec> = ReturnType<typeof parseArgs<{ options: NonNullable<S["options"]>; allowPositionals: true; strict: true }>>;

/** node:util's parseArgs, strict, with `--help`/`-h`; its errors become UsageErrors. */
export function parseCommandLine<S extends CommandSpec>(spec: S, argv: readonly string[]): Parsed<S> {
    let parsed;
    try {
        parsed = parseArgs({
            args: [...argv],
            options: { ...spec.options, help: { type: "boolean", short: "h" } },
            allowPositionals: spec.allowPositionals ?? false,
            strict: true,
        });
    } catch (error) {
        if (typeof (error as { code?: unknown }).code === "string" && (error as { code: string }).code.startsWith("ERR_PARSE_ARGS_")) {
            throw new UsageError((error as Error).message.split("\n")[0]!);
        }
        throw error;
    }
    if (parsed.values.help) throw new HelpShown();
    return parsed as unknown as Parsed<S>;
}

/** Stack frames (`    at fn (file:1:2)`) out, the project's own path cut to a relative one. */
export function withoutInternals(text: string): string {
    return text
        .split("\n")
        .filter((line) => !/^\s+at\s.+/.test(line))
        .join("\n")
        .split(`${PROJECT_ROOT}/`)
        .join("")
        .trim();
}

export interface Failure {
    text: string;
    exitCode: number;
}

/**
 * The result of a failed Pulumi CLI run, from the Automation API's CommandError (recognised by
 * shape: importing the Automation API here would load it into the mock-engine commands too).
 */
function engineFailure(error: unknown): { stderr: string; code: number } | undefined {
    const result = (error as { commandResult?: { stderr?: unknown; code?: unknown } } | undefined)?.commandResult;
    return result && typeof result.stderr === "string" ? { stderr: result.stderr, code: Number(result.code) } : undefined;
}

/** What a command prints for what it threw, and its exit code (the table above). */
export function describeFailure(error: unknown, usage: string, debug: boolean): Failure {
    const trace = debug && error instanceof Error && error.stack ? `\n${error.stack}` : "";
    if (error instanceof UsageError) return { text: `error: ${error.message}\n\n${usage.trim()}`, exitCode: 2 };
    if (error instanceof ConfigError || error instanceof UserError) return { text: `error: ${withoutInternals(error.message)}${trace}`, exitCode: 1 };
    const engineResult = engineFailure(error);
    if (engineResult) {
        // The engine's stdout was streamed already; its stderr holds the reason it stopped.
        const { stderr, code } = engineResult;
        return { text: `error: ${withoutInternals(stderr) || `the Pulumi engine exited with ${code}; its output is above`}${trace}`, exitCode: 1 };
    }
    const message = error instanceof Error ? error.message : String(error);
    const hint = debug ? "" : `\n(this is a bug in pluggable-mesh, not in your input; ${DEBUG_VARIABLE}=1 shows where it happened)`;
    return { text: `internal error: ${withoutInternals(message)}${hint}${trace}`, exitCode: 1 };
}

function debugging(): boolean {
    return /^(1|true)$/i.test(process.env[DEBUG_VARIABLE] ?? "");
}

/**
 * Runs a command's `main` with the outcome table above. `main` returns its exit code (0 when it
 * returns nothing). Call as the last statement of a cli/ file, under `require.main === module`.
 */
export function runCommand(spec: CommandSpec, main: (argv: readonly string[]) => Promise<number | void>, argv: readonly string[] = process.argv.slice(2)): void {
    // The Pulumi SDK takes a stack trace for every promise it makes and every resource it registers;
    // under tsx Node maps each frame through its source map, a quarter of the program's CPU in an
    // `up` (docs/engine.md). No stack trace is shown unless debugging, so only then are they mapped.
    if (!debugging()) process.setSourceMapsEnabled(false);
    // process.exit, not exitCode: a detached child (the embedded cluster) or the engine's gRPC
    // server must not keep the command alive. stdout and stderr are synchronous on Linux.
    main(argv).then(
        (code) => process.exit(code ?? process.exitCode ?? 0),
        (error: unknown) => {
            if (error instanceof HelpShown) {
                process.stdout.write(`${spec.usage.trim()}\n`);
                process.exit(0);
            }
            const failure = describeFailure(error, spec.usage, debugging());
            process.stderr.write(`${failure.text}\n`);
            process.exit(failure.exitCode);
        },
    );
}
