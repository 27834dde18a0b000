import * as pulumi from "@pulumi/pulumi";

/** One thing wrong with the user's input: where it is, and what is wrong with it. */
export interface Problem {
    /** Full config key or spec path, e.g. `pluggable-mesh:apps[0].mode` or `stacks/apps/ruoyi.yaml: components.mysql.ports[0].port`. */
    key: string;
    /** What was expected and what was given. */
    message: string;
}

/** Formats problems one per line, in a stable order, as the user sees them. */
export function formatProblems(problems: readonly Problem[]): string {
    return problems.map((problem) => `${problem.key}: ${problem.message}`).join("\n");
}

/**
 * A user mistake in stack config or app specs. It extends `pulumi.RunError`, so the CLI prints the
 * message without a stack trace; it carries every problem found, not just the first.
 */
export class ConfigError extends pulumi.RunError {
    readonly problems: readonly Problem[];

    constructor(problems: readonly Problem[]) {
        const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
        super(`invalid configuration (${count}):\n${formatProblems(problems)}`);
        this.name = "ConfigError";
        this.problems = problems;
    }
}

/** Throws a ConfigError when any problem was found; call before registering any resource. */
export function failOnProblems(problems: readonly Problem[]): void {
    if (problems.length > 0) {
        throw new ConfigError(problems);
    }
}

/** Renders a value the user gave, for error messages: strings quoted, everything else as JSON. */
export function given(value: unknown): string {
    if (value === undefined) {
        return "nothing";
    }
    return JSON.stringify(value);
}
