import type { AppInput, AppPeer } from "../components/app";
import { given, type Problem } from "../components/model";
import { readPeersOutput, readPlatformOutput, stackReference, type PlatformData } from "../components/fleet";
import { PLATFORM_OWNED_KEYS, PROJECT, type StackConfig } from "./config";

/**
 * The stack side of a fleet (docs/fleet.md): an app stack names its platform stack and its peer
 * stacks; this file checks those names, reads what those stacks export (before anything is
 * registered) and turns their apps into peers of this stack's apps.
 */

const key = (name: string) => `${PROJECT}:${name}`;

/** The command that deploys a stack, for messages that ask for it. */
export function deployHint(stack: string): string {
    return `npm run up -- --stack ${stack}`;
}

/**
 * An app stack (one naming its `platformStack`) takes the platform-owned keys from that stack: each
 * one it sets anyway is one problem naming the key and the platform stack. Read from the config as
 * written, since the schema fills in defaults for keys nobody set.
 */
export function platformOwnedKeyProblems(input: Readonly<Record<string, unknown>>): Problem[] {
    const platformStack = input.platformStack;
    if (platformStack === undefined) return [];
    return PLATFORM_OWNED_KEYS.filter((name) => Object.hasOwn(input, name)).map((name) => ({
        key: key(name),
        message: `the platform stack ${given(platformStack)} owns this key (this stack names it in ${key("platformStack")}); set it on that stack and remove it here`,
    }));
}

/** Stack references that cannot be meant: this stack itself, a peer named twice, the platform stack as a peer. */
export function stackReferenceProblems(config: Pick<StackConfig, "platformStack" | "peerStacks">, stackName: string | undefined): Problem[] {
    const problems: Problem[] = [];
    if (stackName !== undefined && config.platformStack === stackName) {
        problems.push({ key: key("platformStack"), message: `${given(config.platformStack)} is this stack itself; name the stack that installs the platform` });
    }
    config.peerStacks.forEach((peer, index) => {
        const at = key(`peerStacks[${index}]`);
        if (stackName !== undefined && peer === stackName) problems.push({ key: at, message: `${given(peer)} is this stack itself; name other app stacks` });
        else if (peer === config.platformStack) problems.push({ key: at, message: `${given(peer)} is this stack's platformStack; name app stacks only` });
        else if (config.peerStacks.indexOf(peer) !== index) problems.push({ key: at, message: `${given(peer)} is named twice; name each stack once` });
    });
    return problems;
}

/** What a stack read from the stacks it names. */
export interface StackReferences {
    /** The platform stack's `platform` output, validated (app stacks only). */
    platform?: { stack: string; data: PlatformData };
    /** Each of `peerStacks`, in order: its apps as peers, or `undefined` when it exports none yet (not deployed). */
    peers: { stack: string; apps: AppPeer[] | undefined }[];
}

/**
 * Reads the platform stack's `platform` and every peer stack's `peers` through StackReferences,
 * all at once, and validates them. A platform stack not deployed, or any malformed output, is a
 * problem naming the key and the stack; a peer stack not deployed is not (see {@link peerInputs}).
 * Returns undefined for a stack that names no other stack.
 */
export async function readStackReferences(config: Pick<StackConfig, "platformStack" | "peerStacks">): Promise<{ references?: StackReferences; problems: Problem[] }> {
    const { platformStack, peerStacks } = config;
    if (platformStack === undefined && peerStacks.length === 0) return { problems: [] };
    // Every reference is made before any is awaited: the engine reads them in parallel.
    const platformRead = platformStack === undefined ? undefined : readPlatformOutput(platformStack, { reference: stackReference(platformStack) });
    const peerReads = peerStacks.map((stack) => readPeersOutput(stack, { reference: stackReference(stack) }));
    const problems: Problem[] = [];
    const references: StackReferences = { peers: [] };
    if (platformStack !== undefined) {
        const read = (await platformRead)!;
        if (read.status === "read") references.platform = { stack: platformStack, data: read.data };
        else if (read.status === "invalid") problems.push({ key: key("platformStack"), message: read.problem });
        else problems.push({ key: key("platformStack"), message: `stack ${given(platformStack)} has no output "platform" (it is not deployed, or not a platform stack); deploy stack ${platformStack} first: ${deployHint(platformStack)}` });
    }
    (await Promise.all(peerReads)).forEach((read, index) => {
        const stack = peerStacks[index]!;
        if (read.status === "invalid") problems.push({ key: key(`peerStacks[${index}]`), message: read.problem });
        references.peers.push({ stack, apps: read.status === "read" ? read.data : undefined });
    });
    return { references, problems };
}

/** How problems name a peer stack's app. */
function peerSource(stack: string, app: AppPeer): string {
    return `stack ${given(stack)} (peers): app ${given(app.spec.name)}`;
}

/** The app named in a dependency reference (`app/component[:port]`), or undefined for one of the app's own. */
function referencedApp(target: unknown): string | undefined {
    if (typeof target !== "string" || !target.includes("/")) return undefined;
    return target.slice(0, target.indexOf("/"));
}

/** The app names this stack's own specs give (those that give one). */
function ownAppNames(inputs: readonly AppInput[]): Set<string> {
    return new Set(inputs.map((input) => (input.spec as { name?: unknown } | null)?.name).filter((name): name is string => typeof name === "string"));
}

/**
 * The peer stacks' apps as inputs of this stack's plan, with their dependencies on apps this stack
 * does not know left out (they concern a third stack, not this one). Each peer stack not deployed
 * yet is a warning: its apps' calls to this stack are admitted by nothing (fail closed) until it is
 * deployed and this stack runs again.
 */
export function peerInputs(references: StackReferences | undefined, own: readonly AppInput[]): { inputs: AppInput[]; warnings: string[] } {
    if (references === undefined) return { inputs: [], warnings: [] };
    const known = ownAppNames(own);
    for (const peer of references.peers) for (const app of peer.apps ?? []) known.add(app.spec.name);
    const inputs: AppInput[] = [];
    const warnings: string[] = [];
    references.peers.forEach((peer, index) => {
        if (peer.apps === undefined) {
            warnings.push(
                `${key(`peerStacks[${index}]`)}: stack ${given(peer.stack)} is not deployed yet (it has no output "peers"): no app of it is admitted as a caller here until it is deployed and this stack is updated again`,
            );
            return;
        }
        for (const app of peer.apps) {
            const components = app.spec.components.map((component) => ({ ...component, dependsOn: (component.dependsOn ?? []).filter((target) => known.has(referencedApp(target) ?? app.spec.name)) }));
            inputs.push({ spec: { ...app.spec, components }, mode: app.mode, source: peerSource(peer.stack, app) });
        }
    });
    return { inputs, warnings };
}

/**
 * A dependency of this stack's apps on an app that neither this stack nor a deployed peer stack
 * has: one problem each, keyed like the model's own (which it replaces), saying which peer stack
 * to deploy first or to add.
 */
export function crossStackDependencyProblems(references: StackReferences | undefined, own: readonly AppInput[]): Problem[] {
    if (references === undefined) return [];
    const known = ownAppNames(own);
    const exported = references.peers.filter((peer) => peer.apps !== undefined).map((peer) => ({ stack: peer.stack, apps: peer.apps!.map((app) => app.spec.name) }));
    for (const peer of exported) for (const app of peer.apps) known.add(app);
    const undeployed = references.peers.filter((peer) => peer.apps === undefined).map((peer) => peer.stack);
    const problems: Problem[] = [];
    own.forEach((input, index) => {
        const components = (input.spec as { components?: unknown } | null)?.components;
        if (!Array.isArray(components)) return;
        components.forEach((component: { dependsOn?: unknown } | null, componentIndex) => {
            const dependsOn = component?.dependsOn;
            if (!Array.isArray(dependsOn)) return;
            dependsOn.forEach((dependency: unknown, dependencyIndex) => {
                const target = typeof dependency === "string" ? dependency : (dependency as { target?: unknown } | null)?.target;
                const app = referencedApp(target);
                if (app === undefined || known.has(app)) return;
                const where =
                    undeployed.length > 0
                        ? `no deployed stack of ${key("peerStacks")} exports it; not deployed yet: ${undeployed.map((stack) => `stack ${stack} (${deployHint(stack)})`).join(", ")}: deploy it first`
                        : `neither this stack nor a stack of ${key("peerStacks")} ${exported.length > 0 ? `(${exported.map((peer) => `${peer.stack}: ${peer.apps.join(", ") || "no apps"}`).join("; ")}) ` : "(it names none) "}has it; add the stack that deploys it to ${key("peerStacks")}`;
                problems.push({ key: `${input.source ?? `app[${index}]`}: components[${componentIndex}].dependsOn[${dependencyIndex}]`, message: `${given(target)} is in app ${given(app)}: ${where}` });
            });
        });
    });
    return problems;
}

/**
 * On an app stack, a problem keyed by a key the platform stack owns (a mode asking for
 * `pluggable-mesh:istio.controlPlane`) is the platform stack's to fix: it is keyed by
 * `platformStack` and says which stack and key, since this stack may not set that key.
 */
export function onPlatformStack(problems: readonly Problem[], platformStack: string | undefined): Problem[] {
    if (platformStack === undefined) return [...problems];
    const owned = (problemKey: string) => PLATFORM_OWNED_KEYS.some((name) => problemKey === key(name) || problemKey.startsWith(`${key(name)}.`));
    return problems.map((problem) =>
        owned(problem.key) ? { key: key("platformStack"), message: `stack ${given(platformStack)} decides ${problem.key}, which this app stack may not set: ${problem.message}` } : problem,
    );
}
