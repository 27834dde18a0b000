import type { z } from "zod";
import { given, prototypeKeyProblems, zodProblems } from "../model";

/**
 * Another stack's output as this stack reads it. The other stack's program, its state and the
 * backend it lives in are not ours to trust: what it gives is validated like a pull request's
 * stack file, and anything wrong is one message naming the stack and the output's field.
 */

/** What `StackReference.getOutputDetails` gives: the value, or the secret value, or neither when there is no such output. */
export interface OutputDetails {
    value?: unknown;
    secretValue?: unknown;
}

/** An output read: absent (the stack is not deployed, or does not export it), valid data, or one problem. */
export type OutputRead<T> = { status: "absent" } | { status: "read"; data: T } | { status: "invalid"; problem: string };

/**
 * Validates one output of a stack against its schema; the problem names the stack and the first
 * wrong field. The data is the value as the stack wrote it (the schema's input, defaults not
 * applied), once it is known to be valid.
 */
export function parseOutput<S extends z.ZodType>(schema: S, stack: string, output: string, details: OutputDetails): OutputRead<z.input<S>> {
    const at = (path: string) => `stack ${given(stack)}: output ${path ? `${output}.${path}` : output}`;
    if (details.secretValue !== undefined) return { status: "invalid", problem: `${at("")} is a secret; expected plain data (the stack must export it without pulumi.secret)` };
    if (details.value === undefined) return { status: "absent" };
    const problems = prototypeKeyProblems(details.value, at);
    if (problems.length === 0) {
        const parsed = schema.safeParse(details.value, { reportInput: true });
        if (parsed.success) return { status: "read", data: details.value as z.input<S> };
        problems.push(...zodProblems(parsed.error, at, { schema }));
    }
    const first = problems[0]!;
    return { status: "invalid", problem: `${first.key}: ${first.message}` };
}
