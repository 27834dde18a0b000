/**
 * Pulumi mocks that record what a program registers: type, name, inputs, and (from the
 * registration request itself) URN, dependencies and ignoreChanges, which `newResource` never sees.
 * Call {@link installMocks} before importing any module that creates resources.
 */
import * as pulumi from "@pulumi/pulumi";
import { isSecretValue, mapSecrets } from "../../mocks/mockEngine";

export interface RegisteredResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
    urn: string;
    parent: string;
    dependencies: string[];
    ignoreChanges: string[];
    /** Top-level input keys whose value was (or contained) a Pulumi secret; `inputs` holds them unwrapped. */
    secretInputs: string[];
    /** How many `transforms` callbacks the registration carried. */
    transforms: number;
}

/** Everything registered so far, in registration order. */
export const registered: RegisteredResource[] = [];

let inFlight = 0;

/** Extra state a test wants a resource type to report (e.g. the token a token controller fills in). */
export type StateHook = (type: string, inputs: Record<string, any>) => Record<string, any> | undefined;

export async function installMocks(stateHook: StateHook = () => undefined): Promise<void> {
    const inputsByKey = new Map<string, Record<string, any>>();
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                inputsByKey.set(`${args.type}::${args.name}`, args.inputs);
                return { id: `${args.name}-id`, state: { ...args.inputs, ...stateHook(args.type, args.inputs) } };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                throw new Error(`unexpected call to ${args.token}`);
            },
        },
        "pluggable-mesh",
        "test",
        false,
    );
    // setMocks switches `transforms` off, and the SDK then refuses any resource that has one. The
    // SDK serves transform callbacks from a local, unref'd gRPC server that needs nothing from
    // the engine, so they can be switched back on: registrations then carry the callbacks.
    (require("@pulumi/pulumi/runtime/state") as { getStore(): { supportsTransforms: boolean } }).getStore().supportsTransforms = true;
    const monitor = pulumi.runtime.getMonitor() as any;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, response: any) => void) => {
        inFlight++;
        registerResource(req, (err: unknown, response: any) => {
            if (!err) {
                registered.push({
                    type: req.getType(),
                    name: req.getName(),
                    ...unwrapSecrets(inputsByKey.get(`${req.getType()}::${req.getName()}`) ?? {}),
                    urn: response.getUrn(),
                    parent: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    ignoreChanges: req.getIgnorechangesList(),
                    transforms: req.getTransformsList().length,
                });
            }
            inFlight--;
            callback(err, response);
        });
    };
}

function containsSecret(value: unknown): boolean {
    if (isSecretValue(value)) return true;
    if (typeof value !== "object" || value === null) return false;
    return Object.values(value).some(containsSecret);
}

/** Mock inputs keep secrets wrapped; tests want plain values plus a note of what was secret. */
function unwrapSecrets(inputs: Record<string, any>): { inputs: Record<string, any>; secretInputs: string[] } {
    return {
        inputs: mapSecrets(inputs, (plain) => plain) as Record<string, any>,
        secretInputs: Object.keys(inputs).filter((key) => containsSecret(inputs[key])),
    };
}

/** Waits until no registration is in flight and none arrived for a few ticks. */
export async function settle(): Promise<void> {
    let quietTicks = 0;
    let lastCount = -1;
    while (quietTicks < 5) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (inFlight === 0 && registered.length === lastCount) {
            quietTicks++;
        } else {
            quietTicks = 0;
            lastCount = registered.length;
        }
    }
}

/** The resolved value of an output (mocks run as `up`, so values are known). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** A component and the resources named after it (`<name>` and `<name>-...`), in registration order. */
export function resourcesNamed(name: string): RegisteredResource[] {
    return registered.filter((resource) => resource.name === name || resource.name.startsWith(`${name}-`));
}

/** Only the resources named after a component (`<name>-...`), not the component itself. */
export function childrenNamed(name: string): RegisteredResource[] {
    return registered.filter((resource) => resource.name.startsWith(`${name}-`));
}

/** The one resource of a type and name; fails loudly when it is missing or duplicated. */
export function findResource(type: string, name: string): RegisteredResource {
    const matches = registered.filter((resource) => resource.type === type && resource.name === name);
    if (matches.length !== 1) {
        throw new Error(`expected one ${type} named ${name}, found ${matches.length}`);
    }
    return matches[0];
}
