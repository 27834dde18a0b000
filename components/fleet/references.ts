import * as pulumi from "@pulumi/pulumi";
import { given } from "../model";
import { ConfigError } from "../resources";
import type { AppPeer } from "../app";
import { parseOutput, type OutputDetails, type OutputRead } from "./outputs";
import { platformDataSchema, type PlatformData } from "./platformData";
import { peersDataSchema } from "./peers";

/**
 * Reading another stack's `platform` and `peers` outputs through a `StackReference`
 * (https://www.pulumi.com/docs/iac/concepts/stacks/#stackreferences). The values are awaited with
 * `getOutputDetails`, so a program knows its platform and peers before it registers anything that
 * depends on them, and validated, since another stack's output is input like any other.
 */

/** Where to read from. */
export interface StackReadArgs {
    /** A StackReference already made for the stack. @default a new one named after the stack */
    reference?: pulumi.StackReference;
    /** Options of the StackReference made here (a parent, a provider-free resource). @default none */
    opts?: pulumi.CustomResourceOptions;
}

/** A StackReference to `stack` (a stack of this project, or `org/project/stack`), named after it. */
export function stackReference(stack: string, args: StackReadArgs = {}): pulumi.StackReference {
    return args.reference ?? new pulumi.StackReference(stack, { name: stack }, args.opts);
}

/** One output of a stack, as `getOutputDetails` gives it. */
export function readOutputDetails(reference: pulumi.StackReference, output: string): Promise<OutputDetails> {
    return reference.getOutputDetails(output);
}

/** Reads and validates a stack's `platform` output. */
export async function readPlatformOutput(stack: string, args: StackReadArgs = {}): Promise<OutputRead<PlatformData>> {
    return parseOutput(platformDataSchema, stack, "platform", await readOutputDetails(stackReference(stack, args), "platform"));
}

/** Reads and validates a stack's `peers` output: its apps as peers. */
export async function readPeersOutput(stack: string, args: StackReadArgs = {}): Promise<OutputRead<AppPeer[]>> {
    const read = parseOutput(peersDataSchema, stack, "peers", await readOutputDetails(stackReference(stack, args), "peers"));
    return read.status === "read" ? { status: "read", data: read.data.apps as AppPeer[] } : read;
}

/** The refusal of an output that is absent or malformed, as a ConfigError keyed by the StackReference. */
function refused(stack: string, output: string, read: Exclude<OutputRead<unknown>, { status: "read" }>): ConfigError {
    const message = read.status === "invalid" ? read.problem : `stack ${given(stack)} has no output "${output}" (it is not deployed, or does not export it); deploy it first`;
    return new ConfigError([{ key: `StackReference ${given(stack)}`, message }]);
}

/**
 * The platform a platform stack exports (`platformData(...)` there), for GovernedApp's `platform`:
 *
 * ```ts
 * const platform = await readPlatform("acme/platform/prod");
 * new GovernedApp("shop", { mode: "istio", platform, components: [...] });
 * ```
 *
 * Throws a ConfigError (no stack trace) when the stack has no such output or it is malformed.
 */
export async function readPlatform(stack: string, args: StackReadArgs = {}): Promise<PlatformData> {
    const read = await readPlatformOutput(stack, args);
    if (read.status === "read") return read.data;
    throw refused(stack, "platform", read);
}

/**
 * The apps another stack exports as peers (`peersData(...)` there), for GovernedApp's `peers`:
 * its apps that this stack's apps call, or that call them. `undefined` when the stack exports no
 * peers yet (not deployed): a caller there is then admitted nothing until this stack runs again.
 * Throws a ConfigError when the output is malformed.
 */
export async function readPeers(stack: string, args: StackReadArgs = {}): Promise<AppPeer[] | undefined> {
    const read = await readPeersOutput(stack, args);
    if (read.status === "invalid") throw refused(stack, "peers", read);
    return read.status === "read" ? read.data : undefined;
}
