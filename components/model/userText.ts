/**
 * The one place where values a user wrote become message text. Stack files and app specs arrive in
 * pull requests and our messages end up in PR comments, CI logs and terminals, so a value is never
 * echoed in full: long values are clipped, secrets are never shown at all.
 */

/** Characters of a value shown before it is clipped. */
export const MAX_SHOWN_CHARACTERS = 60;

/**
 * Renders a value the user gave: strings quoted (as JSON, so control characters are escaped),
 * everything else as JSON, `nothing` for undefined. Anything longer than
 * {@link MAX_SHOWN_CHARACTERS} is cut there and marked with an ellipsis and its full length, e.g.
 * `"aaaaaaaa…" (1234 characters)`.
 */
export function given(value: unknown): string {
    if (value === undefined) return "nothing";
    const text = typeof value === "string" ? value : safeJson(value);
    if (text.length <= MAX_SHOWN_CHARACTERS) return typeof value === "string" ? JSON.stringify(text) : text;
    // Cut on a code point boundary, so a clipped value never ends in half a surrogate pair.
    const clipped = Array.from(text).slice(0, MAX_SHOWN_CHARACTERS).join("");
    const body = typeof value === "string" ? JSON.stringify(`${clipped}…`) : `${clipped}…`;
    return `${body} (${text.length} characters)`;
}

/** JSON of any value, without throwing on cycles or BigInt (a message must never fail to build). */
function safeJson(value: unknown): string {
    if (typeof value === "bigint") return value.toString();
    try {
        return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === "bigint" ? inner.toString() : inner)) ?? String(value);
    } catch {
        return Object.prototype.toString.call(value);
    }
}

/** The kind of a value, for messages that must not show it: "a string of 12 characters", "a list", ... */
export function describeKind(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? "" : "s"}`;
    if (typeof value === "string") return `a string of ${value.length} character${value.length === 1 ? "" : "s"}`;
    if (typeof value === "object") return "a mapping";
    return `a ${typeof value}`;
}

/**
 * Stands in for a secret's value in a message: only whether it is set, never the value, its length
 * or any part of it (the message says the rule instead, e.g. "must be 16, 24 or 32 bytes").
 */
export function secretGiven(value: unknown): string {
    return value === undefined ? "nothing" : "a secret value (not shown)";
}
