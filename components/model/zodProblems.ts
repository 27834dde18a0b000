import type { z } from "zod";
import { given, type Problem } from "./problems";

type PathSegment = PropertyKey;

/** Renders a zod path as the user wrote it: `components[2].ports[0].port`. */
export function formatPath(path: readonly PathSegment[]): string {
    let text = "";
    for (const segment of path) {
        if (typeof segment === "number") {
            text += `[${segment}]`;
        } else {
            text += text.length === 0 ? String(segment) : `.${String(segment)}`;
        }
    }
    return text;
}

/** What was expected, in words a user of the YAML files understands. */
function describeIssue(issue: z.core.$ZodIssue): string {
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
        case "invalid_type":
            return input === undefined ? `is required (expected ${issue.expected})` : `expected ${issue.expected}, given ${given(input)}`;
        case "invalid_value":
            // A schema's own message (e.g. `"consul" is not a mode; ...`) wins over the generic one; zod's defaults start with "Invalid".
            return issue.message.startsWith("Invalid") ? `${given(input)} is not allowed; use one of ${issue.values.map((value) => String(value)).join(", ")}` : issue.message;
        case "unrecognized_keys":
            return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")}`;
        case "too_small":
            return issue.origin === "string" || issue.origin === "array"
                ? `expected at least ${String(issue.minimum)} ${issue.origin === "string" ? "characters" : "items"}, given ${given(input)}`
                : `expected at least ${String(issue.minimum)}, given ${given(input)}`;
        case "too_big":
            return issue.origin === "string" || issue.origin === "array"
                ? `expected at most ${String(issue.maximum)} ${issue.origin === "string" ? "characters" : "items"}, given ${given(input)}`
                : `expected at most ${String(issue.maximum)}, given ${given(input)}`;
        case "invalid_union":
            return `${given(input)} matches none of the allowed shapes`;
        default:
            // Custom refinements and format checks already carry a message written for the user.
            return input === undefined || issue.message.includes("given") ? issue.message : `${issue.message}, given ${given(input)}`;
    }
}

/**
 * Converts every zod issue into a Problem whose key is built by `keyOf` from the issue's path, so
 * stack config and app spec files each name their problems in their own way.
 */
export function zodProblems(error: z.ZodError, keyOf: (path: string) => string): Problem[] {
    return error.issues.map((issue) => {
        return { key: keyOf(formatPath(issue.path)), message: describeIssue(issue) };
    });
}
