/**
 * Pulumi mocks that record what a program registers: type, name, inputs, and (from the
 * registration request itself) URN, dependencies and ignoreChanges, which `newResource` never sees.
 * Call {@link installMocks} before importing any module that creates resources.
 */
import * as pulumi from "@pulumi/pulumi";

export interface RegisteredResource {
    type: string;
    name: string;
    inputs: Record<string, any>;
    urn: string;
    parent: string;
    dependencies: string[];
    ignoreChanges: string[];
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
    const monitor = pulumi.runtime.getMonitor() as any;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, response: any) => void) => {
        inFlight++;
        registerResource(req, (err: unknown, response: any) => {
            if (!err) {
                registered.push({
                    type: req.getType(),
                    name: req.getName(),
                    inputs: inputsByKey.get(`${req.getType()}::${req.getName()}`) ?? {},
                    urn: response.getUrn(),
                    parent: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    ignoreChanges: req.getIgnorechangesList(),
                });
            }
            inFlight--;
            callback(err, response);
        });
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

/** Resources registered under a name prefix (children are named after their component). */
export function resourcesNamed(prefix: string): RegisteredResource[] {
    return registered.filter((resource) => resource.name === prefix || resource.name.startsWith(`${prefix}-`));
}

/** The one resource of a type and name; fails loudly when it is missing or duplicated. */
export function findResource(type: string, name: string): RegisteredResource {
    const matches = registered.filter((resource) => resource.type === type && resource.name === name);
    if (matches.length !== 1) {
        throw new Error(`expected one ${type} named ${name}, found ${matches.length}`);
    }
    return matches[0];
}
