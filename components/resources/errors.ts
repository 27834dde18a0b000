import * as pulumi from "@pulumi/pulumi";
import { formatProblems, type Problem } from "../model";

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
