import * as pulumi from "@pulumi/pulumi";

/**
 * Runs a Pulumi program under the SDK's mock runtime: no CLI, no cluster. Used by the offline
 * render, the tests and the benchmark. Every registration is recorded with its inputs.
 */

import { PROJECT_ROOT } from "../tools/tools";

export { PROJECT_ROOT };

export interface RegisteredResource {
    type: string;
    name: string;
    urn: string;
    /** Type of the parent resource, from the URN's type chain; undefined for top-level resources. */
    parentType?: string;
    custom: boolean;
    inputs: Record<string, any>;
}

function parentTypeOf(urn: string): string | undefined {
    // urn:pulumi:<stack>::<project>::<parent type>$<parent type>$<type>::<name>
    const types = urn.split("::")[2]!.split("$");
    return types.length > 1 ? types[types.length - 2] : undefined;
}

/** The mark the SDK puts on a serialized secret: `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a recorded input is a secret (`pulumi.secret(...)` as the mock engine sees it). */
export function isSecretValue(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Copies a recorded value with every secret replaced by `replace(its plain value)`. */
export function mapSecrets(value: unknown, replace: (plain: unknown) => unknown): any {
    if (isSecretValue(value)) return replace(mapSecrets(value.value, replace));
    if (Array.isArray(value)) return value.map((item) => mapSecrets(item, replace));
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, mapSecrets(inner, replace)]));
    return value;
}

/** `kubernetes:<group>/<version>:<Kind>` → apiVersion and kind (`core/v1` is plain `v1`); undefined for other types. */
export function apiVersionKindOf(type: string): { apiVersion: string; kind: string } | undefined {
    const match = /^kubernetes:([^:]+):(.+)$/.exec(type);
    if (!match) return undefined;
    const [, groupVersion, kind] = match as unknown as [string, string, string];
    return { apiVersion: groupVersion.startsWith("core/") ? groupVersion.slice("core/".length) : groupVersion, kind };
}

export interface MockRun<T> {
    resources: RegisteredResource[];
    outputs: T;
}

/**
 * Runs `program` with `config` under mocks and waits until every registration has settled.
 * A `call` (provider function) is unexpected in this program and fails the run.
 */
export async function runWithMocks<T>(program: () => T, options: { stack: string; config: Record<string, string>; preview?: boolean }): Promise<MockRun<T>> {
    const resources: RegisteredResource[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const urn = `urn:pulumi:${options.stack}::pluggable-mesh::${args.type}::${args.name}`;
                resources.push({ type: args.type, name: args.name, urn, custom: args.custom ?? true, inputs: args.inputs });
                // Objects get their name where Kubernetes would give it; charts and components echo their inputs.
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call(args) {
                throw new Error(`unexpected provider function call ${args.token}`);
            },
        },
        "pluggable-mesh",
        options.stack,
        options.preview ?? false,
    );
    acceptTransforms();
    pulumi.runtime.setAllConfig(options.config);
    const outputs = program();
    // The SDK's own "wait until all RPCs drained" (what it does before disconnecting).
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
    await settings.waitForRPCs();
    return { resources, outputs };
}

/**
 * The SDK's mock monitor refuses resource transforms (they need the engine's callback server). The
 * program uses one (retaining Istio's CRDs on delete); under mocks it is accepted and not run, and
 * is unit-tested on its own instead.
 */
function acceptTransforms(): void {
    const store = (require("@pulumi/pulumi/runtime/state") as { getStore(): Record<string, unknown> }).getStore();
    const { Callback } = require("@pulumi/pulumi/proto/callback_pb") as { Callback: new () => unknown };
    store.supportsTransforms = true;
    store.callbacks = {
        registerTransform: async () => new Callback(),
        awaitStackRegistrations: async () => undefined,
    };
}

/** Adds URNs with their parent chain, as the engine would show them. */
export function withParents(resources: RegisteredResource[]): RegisteredResource[] {
    return resources.map((resource) => ({ ...resource, parentType: parentTypeOf(resource.urn) }));
}
