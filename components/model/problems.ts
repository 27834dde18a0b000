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
