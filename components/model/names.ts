import { createHash } from "node:crypto";

/** Kubernetes object names (DNS-1123 labels) are at most 63 characters. */
export const MAX_NAME_LENGTH = 63;

/** A short, stable hash of some text; used for truncated names and to roll pods on config change. */
export function shortHash(text: string, length = 8): string {
    return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/**
 * Joins parts into a Kubernetes name. When the result is longer than 63 characters it keeps a
 * prefix and appends a hash of the whole name, so two long names never truncate to the same one.
 */
export function kubeName(...parts: string[]): string {
    const name = parts.filter((part) => part.length > 0).join("-");
    if (name.length <= MAX_NAME_LENGTH) {
        return name;
    }
    const hash = shortHash(name);
    const prefix = name.slice(0, MAX_NAME_LENGTH - hash.length - 1).replace(/-+$/, "");
    return `${prefix}-${hash}`;
}
