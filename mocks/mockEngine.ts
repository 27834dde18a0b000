/**
 * mocks/: the mock engine. Runs a Pulumi program under the SDK's public mock runtime
 * (`pulumi.runtime.setMocks`): no CLI, no cluster, no provider. The one harness behind the offline
 * render (cli/render.ts), the mock benchmark (bench/) and every unit test: each registration is
 * recorded with the identity the real engine would give it.
 *
 * May import: tools/ (the project root) and the layers below it (stacks/, components/), and the public API of
 * `@pulumi/pulumi` only (nothing under `@pulumi/pulumi/runtime/...`, `proto/...` or other internals).
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_ROOT } from "../tools/tools";

export { PROJECT_ROOT };

/** The project name in Pulumi.yaml: the second part of every URN. */
export const PROJECT_NAME = "pluggable-mesh";

/** A registration as the engine would record it. */
export interface RegisteredResource {
    type: string;
    name: string;
    /**
     * The engine's URN: `urn:pulumi:<stack>::<project>::<parent's qualified type>$<type>::<name>`,
     * where the parent's qualified type is its own whole type chain (the root stack adds nothing).
     */
    urn: string;
    /** The parent's URN; a top-level resource has the root stack's. */
    parent: string;
    /** A custom resource (managed by a provider), not a component. */
    custom: boolean;
    /** Inputs as the provider receives them, secrets unwrapped (which ones were secret: {@link secretInputs}). */
    inputs: Record<string, any>;
    /** Top-level input keys whose value was (or contained) a Pulumi secret. */
    secretInputs: string[];
    /** Where in `inputs` each secret value sits (keys, array indexes as strings). */
    secretPaths: string[][];
    /** The output properties the resource resolved to (its inputs plus what a state hook added). */
    outputs: Record<string, any>;
    /**
     * URNs the engine is told this resource depends on: `dependsOn` and every resource whose output
     * feeds an input, with a component standing for the resources it contains (as the SDK sends them).
     */
    dependencies: string[];
    ignoreChanges: string[];
    protect: boolean;
    retainOnDelete: boolean;
    /** Output properties the resource options ask the engine to mark secret. */
    additionalSecretOutputs: string[];
    /** How many `transforms` the resource options carried (recorded, not run: see {@link MockStack}). */
    transforms: number;
}

export interface MockRun<T> {
    resources: RegisteredResource[];
    outputs: T;
}

/** Extra output properties a test wants a resource to report (e.g. the token a token controller fills in). */
export type StateHook = (type: string, inputs: Record<string, any>) => Record<string, any> | undefined;

export interface MockOptions {
    /** @default "test" */
    stack?: string;
    /** Config as Pulumi hands it to a program (structured values as JSON strings). @default {} */
    config?: Record<string, string>;
    /** Run as `pulumi preview` instead of `pulumi up`. @default false */
    preview?: boolean;
    /** @default no extra state */
    stateHook?: StateHook;
    /**
     * Stacks a `StackReference` may read, by the name it gives, with their outputs (`{}`: a stack
     * that exists but was never deployed). Reading any other stack fails the run as the engine
     * fails it: `unknown stack "<name>"`. @default {}
     */
    stackOutputs?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** The type of a StackReference, a resource the engine reads (its outputs) instead of creating. */
export const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";

/** `kubernetes:<group>/<version>:<Kind>` → apiVersion and kind (`core/v1` is plain `v1`); undefined for other types. */
export function apiVersionKindOf(type: string): { apiVersion: string; kind: string } | undefined {
    const match = /^kubernetes:([^:]+):(.+)$/.exec(type);
    if (!match) return undefined;
    const [, groupVersion, kind] = match as unknown as [string, string, string];
    return { apiVersion: groupVersion.startsWith("core/") ? groupVersion.slice("core/".length) : groupVersion, kind };
}

/** The type part of a URN, with its parents' types: `<parent type>$...$<type>`. */
export function qualifiedTypeOf(urn: string): string {
    return urn.split("::")[2]!;
}

/** `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, the engine's `resource.NewURN`. */
export function engineUrn(stack: string, project: string, parentQualifiedType: string | undefined, type: string, name: string): string {
    return `urn:pulumi:${stack}::${project}::${parentQualifiedType ? `${parentQualifiedType}$` : ""}${type}::${name}`;
}

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** Whether a value the mock monitor hands over is a serialized secret (`pulumi.secret(...)`). */
function isSecretValue(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

function containsSecret(value: unknown): boolean {
    if (isSecretValue(value)) return true;
    if (typeof value !== "object" || value === null) return false;
    return Object.values(value).some(containsSecret);
}

/** A copy with every secret replaced by its plain value; the path of each secret goes to `paths`. */
function unwrapSecrets(value: unknown, at: string[], paths: string[][]): any {
    if (isSecretValue(value)) {
        paths.push(at);
        return unwrapSecrets(value.value, at, []);
    }
    if (Array.isArray(value)) return value.map((item, index) => unwrapSecrets(item, [...at, String(index)], paths));
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unwrapSecrets(inner, [...at, key], paths)]));
    return value;
}

/** What the harness keeps about a resource until its dependencies are worked out. */
interface Construction {
    record: RegisteredResource;
    /** What the dependencies are worked out from, once registered; dropped after. */
    unresolved?: { props: pulumi.Inputs; dependsOn: pulumi.ResourceOptions["dependsOn"] };
    children: pulumi.Resource[];
    registered: boolean;
}

/**
 * One stack under the SDK's mocks, open for registrations. The program runs inside a root stack
 * resource (`runInPulumiStack`, as `pulumi up` runs it), whose stack transformation sees every
 * resource's type, name, parent and options as it is constructed; `newResource` then sees its
 * resolved inputs. Resource `transforms` are recorded and taken off the options (the mock monitor
 * cannot run them, and the SDK refuses them under mocks); each is unit-tested on its own.
 *
 * The SDK's own `resource.urn` outputs carry the mock monitor's URN (the parent's last type only,
 * the stack's type on top-level resources); {@link urnOf} gives the engine's.
 */
export class MockStack {
    /** Every registration so far, in registration order. */
    readonly resources: RegisteredResource[] = [];
    readonly stackUrn: string;
    private readonly constructions = new Map<pulumi.Resource, Construction>();
    /** Constructed, not yet seen by `newResource`, by `<type>::<name>`. */
    private readonly awaitingRegistration = new Map<string, Construction[]>();
    private unregistered = 0;
    private readonly urns = new Set<string>();
    private readonly problems: string[] = [];
    private failure: { error: unknown } | undefined;
    private stackResource: pulumi.Resource | undefined;

    constructor(
        readonly stack: string,
        readonly project: string,
        private readonly stateHook: StateHook | undefined,
        private readonly stackOutputs: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {},
    ) {
        this.stackUrn = engineUrn(stack, project, undefined, ROOT_STACK_TYPE, `${project}-${stack}`);
    }

    /** The engine's URN of a resource constructed in this stack. */
    urnOf(resource: pulumi.Resource): string {
        const construction = this.constructions.get(resource);
        if (!construction) throw new Error("that resource was not constructed in this mock stack");
        return construction.record.urn;
    }

    /** The one resource of a type and name; fails loudly when it is missing or duplicated. */
    find(type: string, name: string): RegisteredResource {
        const matches = this.resources.filter((resource) => resource.type === type && resource.name === name);
        if (matches.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${matches.length}`);
        return matches[0]!;
    }

    /** A component and the resources named after it (`<name>` and `<name>-...`), in registration order. */
    named(name: string): RegisteredResource[] {
        return this.resources.filter((resource) => resource.name === name || resource.name.startsWith(`${name}-`));
    }

    /** Only the resources named after a component (`<name>-...`), not the component itself. */
    childrenNamed(name: string): RegisteredResource[] {
        return this.resources.filter((resource) => resource.name.startsWith(`${name}-`));
    }

    /**
     * Waits until every constructed resource is registered and resolved and nothing new arrives,
     * then works out dependencies. Rejects with the first failure of a registration or of program
     * code run by an output (an `apply`), and with duplicate URNs, which the engine refuses.
     */
    async settle(): Promise<void> {
        let seen = -1;
        let quietTurns = 0;
        while (quietTurns < 3) {
            await new Promise((resolve) => setImmediate(resolve));
            this.throwIfFailed();
            if (this.unregistered === 0 && this.constructions.size === seen) {
                quietTurns++;
            } else {
                quietTurns = 0;
                seen = this.constructions.size;
            }
        }
        // Every URN output resolved: the SDK has finished each registration.
        await Promise.race([
            Promise.all([...this.constructions.keys()].map((resource) => new Promise((resolve) => resource.urn.apply(resolve)))),
            new Promise((_, reject) => this.onFailure(reject)),
        ]);
        await this.resolveDependencies();
        this.throwIfFailed();
    }

    /** Stack transformation: record identity and options as the resource is constructed. */
    observe(args: pulumi.ResourceTransformationArgs): pulumi.ResourceTransformationResult | undefined {
        const parentResource = args.opts.parent ?? this.stackResource;
        const parent = parentResource && this.constructions.get(parentResource);
        if (parentResource && parentResource !== this.stackResource && !parent) {
            this.problems.push(`${args.type} ${args.name}: its parent was not constructed in this mock stack`);
        }
        parent?.children.push(args.resource);
        const urn = engineUrn(this.stack, this.project, parent && qualifiedTypeOf(parent.record.urn), args.type, args.name);
        if (this.urns.has(urn)) this.problems.push(`Duplicate resource URN '${urn}'; try giving it a unique name`);
        this.urns.add(urn);
        const opts = args.opts as pulumi.CustomResourceOptions;
        const record: RegisteredResource = {
            type: args.type,
            name: args.name,
            urn,
            parent: parent?.record.urn ?? this.stackUrn,
            // isInstance reads a flag the constructor sets only after this transformation ran; the prototype is there already.
            custom: args.resource instanceof pulumi.CustomResource,
            inputs: {},
            secretInputs: [],
            secretPaths: [],
            outputs: {},
            dependencies: [],
            ignoreChanges: opts.ignoreChanges ?? [],
            protect: opts.protect ?? parent?.record.protect ?? false,
            retainOnDelete: opts.retainOnDelete ?? false,
            additionalSecretOutputs: opts.additionalSecretOutputs ?? [],
            transforms: opts.transforms?.length ?? 0,
        };
        const construction: Construction = { record, unresolved: { props: args.props, dependsOn: opts.dependsOn }, children: [], registered: false };
        this.constructions.set(args.resource, construction);
        const key = `${args.type}::${args.name}`;
        const waiting = this.awaitingRegistration.get(key);
        if (waiting) waiting.push(construction);
        else this.awaitingRegistration.set(key, [construction]);
        this.unregistered++;
        return record.transforms > 0 ? { props: args.props, opts: { ...args.opts, transforms: undefined } } : undefined;
    }

    /** The mock monitor's `newResource`: inputs resolved, the registration happens. */
    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        if (args.type === ROOT_STACK_TYPE) return { id: undefined, state: {} };
        const key = `${args.type}::${args.name}`;
        const waiting = this.awaitingRegistration.get(key) ?? [];
        const construction = waiting.shift();
        if (!construction) throw new Error(`${key} was registered without being constructed in this mock stack`);
        if (waiting.length === 0) this.awaitingRegistration.delete(key);
        this.unregistered--;
        if (waiting.some((other) => other.record.parent !== construction.record.parent)) {
            // Legal for the engine (the URNs differ in the parent's type), but newResource is not told the parent.
            this.problems.push(`two ${key} are registered at once under parents of different types; the mock engine cannot tell whose inputs are whose and refuses to guess`);
        }
        const record = construction.record;
        const inputs = args.inputs as Record<string, any>;
        if (args.type === STACK_REFERENCE_TYPE) return this.readStack(construction, inputs);
        if (containsSecret(inputs)) {
            record.inputs = unwrapSecrets(inputs, [], record.secretPaths);
            record.secretInputs = [...new Set(record.secretPaths.map((at) => at[0]!))];
        } else {
            record.inputs = inputs;
        }
        const extra = this.stateHook?.(args.type, record.inputs);
        record.outputs = extra ? { ...record.inputs, ...extra } : record.inputs;
        construction.registered = true;
        this.resources.push(record);
        // Objects get their name where Kubernetes would give it; charts and components echo their inputs.
        return { id: `${args.name}-id`, state: extra ? { ...inputs, ...extra } : inputs };
    }

    /** A StackReference read: the referenced stack's outputs, or the engine's failure for a stack that does not exist. */
    private readStack(construction: Construction, inputs: Record<string, any>): pulumi.runtime.MockResourceResult {
        const name = String(inputs.name);
        const outputs = Object.hasOwn(this.stackOutputs, name) ? this.stackOutputs[name] : undefined;
        if (outputs === undefined) throw new Error(`unknown stack "${name}"`);
        const record = construction.record;
        record.inputs = inputs;
        // Outputs pass through JSON, as they do through the engine's state.
        record.outputs = { name, outputs: JSON.parse(JSON.stringify(outputs)), secretOutputNames: [] };
        construction.registered = true;
        this.resources.push(record);
        return { id: name, state: record.outputs };
    }

    /** The root stack resource, whose stack transformation feeds {@link observe}. */
    adoptRoot(stackResource: pulumi.Resource): void {
        this.stackResource = stackResource;
    }

    fail(error: unknown): void {
        this.failure ??= { error };
        for (const listener of this.failureListeners) listener(error);
    }

    private readonly failureListeners: ((error: unknown) => void)[] = [];

    private onFailure(listener: (error: unknown) => void): void {
        if (this.failure) listener(this.failure.error);
        else this.failureListeners.push(listener);
    }

    private throwIfFailed(): void {
        if (this.failure) throw this.failure.error;
        if (this.problems.length > 0) throw new Error(this.problems.join("\n"));
    }

    private async resolveDependencies(): Promise<void> {
        const pending = [...this.constructions.values()].filter((construction) => construction.registered && construction.unresolved);
        await Promise.all(
            pending.map(async (construction) => {
                const { props, dependsOn } = construction.unresolved!;
                construction.unresolved = undefined;
                const direct = [...(await gatherDependsOn(dependsOn)), ...(await inputDependencies(props))];
                const urns = new Set<string>();
                for (const dependency of direct) this.addStandIns(dependency, construction, urns);
                construction.record.dependencies = [...urns];
            }),
        );
    }

    /** A custom resource stands for itself; a component for what it contains, down to custom resources (the SDK's rule). */
    private addStandIns(dependency: pulumi.Resource, dependent: Construction, urns: Set<string>): void {
        const construction = this.constructions.get(dependency);
        if (!construction || construction === dependent) return;
        if (construction.record.custom || construction.children.length === 0) {
            // A component with no children here is a remote one (a Helm chart): the provider owns its children.
            urns.add(construction.record.urn);
            return;
        }
        for (const child of construction.children) this.addStandIns(child, dependent, urns);
    }
}

async function gatherDependsOn(dependsOn: pulumi.ResourceOptions["dependsOn"]): Promise<pulumi.Resource[]> {
    if (dependsOn === undefined) return [];
    if (Array.isArray(dependsOn)) return (await Promise.all(dependsOn.map((item) => gatherDependsOn(item)))).flat();
    if (pulumi.Resource.isInstance(dependsOn)) return [dependsOn];
    if (pulumi.Output.isInstance(dependsOn)) {
        const output = dependsOn as pulumi.Output<pulumi.Input<pulumi.Resource>[]>;
        const value = await new Promise<pulumi.Input<pulumi.Resource>[]>((resolve) => output.apply(resolve));
        return [...(await gatherDependsOn(value)), ...(await pulumi.getAllResources(output))];
    }
    return gatherDependsOn(await dependsOn);
}

/** Resources whose outputs (or references) appear anywhere in a resource's inputs. */
async function inputDependencies(value: unknown): Promise<pulumi.Resource[]> {
    const found: pulumi.Resource[] = [];
    const outputs: pulumi.Output<unknown>[] = [];
    const promises: Promise<unknown>[] = [];
    collectReferences(value, found, outputs, promises, new Set());
    for (const resources of await Promise.all(outputs.map((output) => pulumi.getAllResources(output)))) found.push(...resources);
    for (const settled of await Promise.all(promises)) found.push(...(await inputDependencies(settled)));
    return found;
}

/** One synchronous walk (cycles cut) collecting resource references, outputs and promises. */
function collectReferences(value: unknown, found: pulumi.Resource[], outputs: pulumi.Output<unknown>[], promises: Promise<unknown>[], seen: Set<object>): void {
    if (value === null || typeof value !== "object" || seen.has(value)) return;
    seen.add(value);
    if (pulumi.Output.isInstance(value)) outputs.push(value);
    else if (pulumi.Resource.isInstance(value)) found.push(value);
    else if (value instanceof Promise) promises.push(value);
    else for (const inner of Object.values(value)) collectReferences(inner, found, outputs, promises, seen);
}

let current: { stack: MockStack; listener: (reason: unknown) => void } | undefined;

/**
 * Opens a stack under mocks (closing the previous one: the SDK's mock state is global). Create
 * resources afterwards, then {@link MockStack.settle}. Load modules that create resources at import
 * time only after this.
 */
export async function openMockStack(options: MockOptions = {}): Promise<MockStack> {
    closeMockStack();
    const mockStack = new MockStack(options.stack ?? "test", PROJECT_NAME, options.stateHook, options.stackOutputs);
    // A failed registration or a throwing apply surfaces only as an unhandled rejection; the run fails with it.
    const listener = (reason: unknown) => mockStack.fail(reason);
    process.on("unhandledRejection", listener);
    current = { stack: mockStack, listener };
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => mockStack.newResource(args),
            call: (args) => {
                throw new Error(`unexpected provider function call ${args.token}`);
            },
        },
        PROJECT_NAME,
        mockStack.stack,
        options.preview ?? false,
    );
    pulumi.runtime.setAllConfig(options.config ?? {});
    await pulumi.runtime.runInPulumiStack(async () => {
        mockStack.adoptRoot(pulumi.runtime.getStackResource()!);
        pulumi.runtime.registerStackTransformation((args) => mockStack.observe(args));
        return undefined;
    });
    return mockStack;
}

/** Stops routing unhandled rejections to the open mock stack. */
export function closeMockStack(): void {
    if (current) process.off("unhandledRejection", current.listener);
    current = undefined;
}

/**
 * Runs `run` with Node's source-map translation of stack traces off. The SDK takes a stack trace
 * for every promise it makes (four per top-level input of every resource) and a whole one, with no
 * depth limit, for every resource; under tsx Node maps each frame of each of those through its
 * source map, which is about a quarter of the time of a mock run (profiled with `node --cpu-prof`).
 * The mock engine reads none of them. An error the program throws keeps its mapped stack: Node
 * formats a stack when it is first read, and that is after the run, when mapping is on again.
 */
export async function withoutSourceMappedStacks<T>(run: () => Promise<T>): Promise<T> {
    const mapped = process.sourceMapsEnabled;
    process.setSourceMapsEnabled(false);
    try {
        return await run();
    } finally {
        process.setSourceMapsEnabled(mapped);
    }
}

/**
 * Runs `program` with `config` under mocks and waits until every registration has settled.
 * A `call` (provider function) is unexpected in this program and fails the run.
 */
export async function runWithMocks<T>(program: () => T | Promise<T>, options: MockOptions = {}): Promise<MockRun<T>> {
    const mockStack = await openMockStack(options);
    try {
        return await withoutSourceMappedStacks(async () => {
            // An async program (a stack that reads other stacks first) registers after its first await.
            const outputs = await program();
            await mockStack.settle();
            return { resources: mockStack.resources, outputs };
        });
    } finally {
        closeMockStack();
    }
}

/** The resolved value of an output (mocks run as `up` unless told otherwise, so values are known). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}
