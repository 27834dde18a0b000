import { given, stackReferenceName, type Problem } from "../components/model";
import { ConfigError } from "../components/resources";
import { PROJECT } from "../stacks/config";

/**
 * The set of stacks a command runs, planned from the project's stack files alone (no engine):
 * a platform stack with every app stack naming it in `platformStack`, or an app stack alone. The
 * platform runs first; app stacks run callee before caller (an app of stack X that depends on
 * `other-app/component` deployed by stack Y needs Y's `peers` output, so Y runs first), and
 * stacks with no dependency between them run side by side. Destroy runs in exact reverse.
 *
 * Pure: what the stack files and app specs say comes in as {@link StackEntry} values and an
 * `appsOf` reader (engine/stackSetFiles.ts reads them from a project); every bad input is one
 * ConfigError, thrown before anything runs.
 */

const key = (name: string) => `${PROJECT}:${name}`;

/** A stack file's keys that place it in a set, as written (they arrive in pull requests: unchecked). */
export interface StackEntry {
    name: string;
    /** `pluggable-mesh:platformStack`, as written. */
    platformStack?: unknown;
    /** `pluggable-mesh:peerStacks`, as written. */
    peerStacks?: unknown;
}

/** An app a stack deploys, with the other apps it calls (`other-app/component` in dependsOn). */
export interface AppCalls {
    app: string;
    /** The spec file, from the project root. */
    source: string;
    /** Apps other than itself that its components depend on. */
    calls: string[];
}

/** Reads the apps of a stack: its app specs' names and cross-app calls, or the problems reading them. */
export type AppsReader = (stack: string) => AppCalls[] | Problem[];

export interface PlannedStack {
    name: string;
    kind: "platform" | "app";
    /** The platform stack of an app stack: a stack of this project, or `org/project/stack` elsewhere. */
    platform?: string;
    peers: string[];
    /** Stacks whose apps this stack's apps call (they deploy first). */
    callees: string[];
    /** Stacks whose deployments this stack needs before it runs: its platform and its callees. */
    needs: string[];
}

export interface StackSetPlan {
    /** The stack the command named. */
    target: string;
    /** The stacks of the set, level by level: level 0 runs first; stacks in one level have no dependency between them. */
    levels: string[][];
    /** Every stack of the set and every stack it reads (platforms, peers outside the set). */
    stacks: Map<string, PlannedStack>;
}

/** The stacks of a plan in the order `up` and `preview` start them. */
export function runOrder(plan: StackSetPlan): string[] {
    return plan.levels.flat();
}

/** Levels for `destroy`: the exact reverse of `up` (callers before callees, the platform last). */
export function destroyLevels(plan: StackSetPlan): string[][] {
    return [...plan.levels].reverse().map((level) => [...level].reverse());
}

/** The stacks of the set that need `stack` deployed first (the reverse of {@link PlannedStack.needs}, within the set). */
export function dependentsOf(plan: StackSetPlan, stack: string): string[] {
    const inSet = new Set(runOrder(plan));
    return runOrder(plan).filter((other) => inSet.has(other) && plan.stacks.get(other)!.needs.includes(stack));
}

/** `org/project/stack` (checked by stackReferenceName): a stack elsewhere, which no stack file here describes. */
const isElsewhere = (stack: string) => stack.includes("/");

function fileOf(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

/** A stack's keys read and checked; problems name the file and key. */
interface Role {
    platform?: string;
    peers: string[];
}

function roleOf(entry: StackEntry, problems: Problem[]): Role {
    const role: Role = { peers: [] };
    const at = (name: string) => `${fileOf(entry.name)}: ${key(name)}`;
    // Names are checked before they are used in a file name or a message (stackReferenceName clips them).
    const badName = (name: string) => stackReferenceName(name);
    if (entry.platformStack !== undefined) {
        if (typeof entry.platformStack !== "string") problems.push({ key: at("platformStack"), message: `expected the name of a platform stack (a stack of this project, or org/project/stack), given ${given(entry.platformStack)}` });
        else if (badName(entry.platformStack)) problems.push({ key: at("platformStack"), message: badName(entry.platformStack)! });
        else role.platform = entry.platformStack;
    }
    if (entry.peerStacks !== undefined) {
        if (!Array.isArray(entry.peerStacks) || !entry.peerStacks.every((peer) => typeof peer === "string")) {
            problems.push({ key: at("peerStacks"), message: `expected a list of app stack names, given ${given(entry.peerStacks)}` });
        } else {
            const bad = (entry.peerStacks as string[]).filter((peer) => badName(peer));
            problems.push(...bad.map((peer) => ({ key: at("peerStacks"), message: badName(peer)! })));
            if (bad.length === 0) role.peers = [...new Set(entry.peerStacks as string[])];
        }
    }
    return role;
}

function stacksHere(entries: ReadonlyMap<string, StackEntry>): string {
    return [...entries.keys()].sort().join(", ") || "none";
}

/** The reference problems of one stack: a platform or peer that is not there or not what the key needs. */
function referenceProblems(entry: StackEntry, role: Role, entries: ReadonlyMap<string, StackEntry>, roles: ReadonlyMap<string, Role>): Problem[] {
    const problems: Problem[] = [];
    const at = (name: string) => `${fileOf(entry.name)}: ${key(name)}`;
    const platform = role.platform;
    if (platform !== undefined && !isElsewhere(platform)) {
        if (platform === entry.name) {
            problems.push({ key: at("platformStack"), message: `names this stack itself; name the platform stack whose \`platform\` output its apps use, or remove the key to make this a platform stack` });
        } else if (!entries.has(platform)) {
            problems.push({ key: at("platformStack"), message: `${given(platform)} is not a stack of this project (there is no ${fileOf(platform)}); the stacks here are ${stacksHere(entries)}, or name a stack elsewhere as org/project/stack` });
        } else if (roles.get(platform)?.platform !== undefined) {
            problems.push({ key: at("platformStack"), message: `${given(platform)} is an app stack (${fileOf(platform)} sets ${key("platformStack")}); name a platform stack, one that sets no ${key("platformStack")}` });
        }
    }
    for (const peer of role.peers.filter((name) => !isElsewhere(name))) {
        if (peer === entry.name) {
            problems.push({ key: at("peerStacks"), message: `names this stack itself; list the other app stacks whose apps this stack's apps call or are called by` });
        } else if (!entries.has(peer)) {
            problems.push({ key: at("peerStacks"), message: `${given(peer)} is not a stack of this project (there is no ${fileOf(peer)}); the stacks here are ${stacksHere(entries)}` });
        } else if (roles.get(peer)?.platform === undefined) {
            problems.push({ key: at("peerStacks"), message: `${given(peer)} is a platform stack (${fileOf(peer)} sets no ${key("platformStack")}); peerStacks lists app stacks` });
        }
    }
    return problems;
}

/** The stacks of the set a command on `target` runs: a platform with its app stacks, or an app stack alone. */
function membersOf(target: string, roles: ReadonlyMap<string, Role>): string[] {
    if (roles.get(target)!.platform !== undefined) return [target];
    return [target, ...[...roles.keys()].filter((name) => roles.get(name)!.platform === target).sort()];
}

/** Stacks reachable from `start` through peerStacks (the set and every stack it may read peers from). */
function closureOf(start: readonly string[], roles: ReadonlyMap<string, Role>): string[] {
    const seen = new Set<string>();
    const visit = (name: string) => {
        if (seen.has(name) || !roles.has(name)) return;
        seen.add(name);
        for (const peer of roles.get(name)!.peers) visit(peer);
    };
    start.forEach(visit);
    return [...seen];
}

interface Call {
    from: string;
    to: string;
    /** `app` calls `callee`, e.g. "ruoyi calls bookinfo". */
    why: string;
}

/** Cross-stack calls of one stack: each app it calls that is not its own, found among its peers' apps. */
function callsOf(stack: string, role: Role, apps: ReadonlyMap<string, AppCalls[]>, setStacks: readonly string[], problems: Problem[]): Call[] {
    const own = new Set(apps.get(stack)!.map((app) => app.app));
    const calls: Call[] = [];
    for (const app of apps.get(stack)!) {
        for (const callee of app.calls.filter((name) => !own.has(name))) {
            const deployedBy = role.peers.filter((peer) => apps.get(peer)?.some((other) => other.app === callee));
            for (const peer of deployedBy) calls.push({ from: stack, to: peer, why: `${app.app} calls ${callee}` });
            if (deployedBy.length > 0) continue;
            // An app the set deploys elsewhere, but not from a peer: the stack could not read its address.
            const elsewhere = setStacks.filter((other) => other !== stack && apps.get(other)?.some((candidate) => candidate.app === callee));
            if (elsewhere.length > 0) {
                problems.push({
                    key: `${fileOf(stack)}: ${key("peerStacks")}`,
                    message: `app ${given(app.app)} (${app.source}) depends on app ${given(callee)}, which stack ${elsewhere.join(", ")} deploys; add ${elsewhere.length === 1 ? "it" : "one of them"} to this stack's peerStacks`,
                });
            }
        }
    }
    return calls;
}

/** One cycle among the calls, as the stacks in order with the first repeated at the end, or undefined. */
function findCycle(stacks: readonly string[], calls: readonly Call[]): string[] | undefined {
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (stack: string): string[] | undefined => {
        if (state.get(stack) === "done") return undefined;
        if (state.get(stack) === "open") return [...path.slice(path.indexOf(stack)), stack];
        state.set(stack, "open");
        path.push(stack);
        for (const callee of [...new Set(calls.filter((call) => call.from === stack).map((call) => call.to))].sort()) {
            const cycle = visit(callee);
            if (cycle) return cycle;
        }
        path.pop();
        state.set(stack, "done");
        return undefined;
    };
    for (const stack of [...stacks].sort()) {
        const cycle = visit(stack);
        if (cycle) return cycle;
    }
    return undefined;
}

function cycleProblem(cycle: readonly string[], calls: readonly Call[]): Problem {
    const steps = cycle.slice(0, -1).map((stack, index) => {
        const next = cycle[index + 1]!;
        const why = calls.filter((call) => call.from === stack && call.to === next).map((call) => call.why);
        return `${stack} (${why.join(", ")}) → ${next}`;
    });
    const stacks = [...new Set(cycle)].sort();
    return {
        key: `stacks ${stacks.join(", ")}`,
        message: `their apps depend on each other in a cycle: ${steps.join(", ")}; a stack deploys after the stacks it calls, so no order works. Remove one of these dependencies, or deploy the apps of the cycle in one stack`,
    };
}

/**
 * Plans the set of `target`. `entries` are every stack file of the project (the set of a platform
 * stack is every stack naming it); `appsOf` is asked only for the set and the stacks it reads.
 * Throws one ConfigError with every problem found.
 */
export function planStackSet(target: string, entries: readonly StackEntry[], appsOf: AppsReader): StackSetPlan {
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    if (!byName.has(target)) throw new ConfigError([{ key: fileOf(target), message: `there is no stack ${given(target)}; the stacks here are ${stacksHere(byName)}` }]);
    const roleProblems: Problem[] = [];
    const roles = new Map(entries.map((entry) => [entry.name, roleOf(entry, roleProblems)]));
    if (roleProblems.length > 0) throw new ConfigError(roleProblems);
    const members = membersOf(target, roles);
    const relevant = closureOf(members, roles);
    const problems = relevant.flatMap((name) => referenceProblems(byName.get(name)!, roles.get(name)!, byName, roles));
    if (problems.length > 0) throw new ConfigError(problems);

    const apps = new Map<string, AppCalls[]>();
    for (const name of relevant) {
        const read = appsOf(name);
        if (read.some((item) => "message" in item)) problems.push(...(read as Problem[]));
        else apps.set(name, read as AppCalls[]);
    }
    if (problems.length > 0) throw new ConfigError(problems);
    const calls = relevant.flatMap((name) => callsOf(name, roles.get(name)!, apps, members, problems));
    if (problems.length > 0) throw new ConfigError(problems);
    const cycle = findCycle(relevant, calls);
    if (cycle) throw new ConfigError([cycleProblem(cycle, calls)]);

    const stacks = new Map<string, PlannedStack>();
    for (const name of relevant) {
        const role = roles.get(name)!;
        const callees = [...new Set(calls.filter((call) => call.from === name).map((call) => call.to))].sort();
        stacks.set(name, {
            name,
            kind: role.platform === undefined ? "platform" : "app",
            ...(role.platform !== undefined ? { platform: role.platform } : {}),
            peers: role.peers,
            callees,
            needs: [...(role.platform !== undefined ? [role.platform] : []), ...callees],
        });
    }
    return { target, levels: levelsOf(members, stacks), stacks };
}

/** Level of each member: one above the highest member it needs (so the platform, needing nothing in the set, is level 0). */
function levelsOf(members: readonly string[], stacks: ReadonlyMap<string, PlannedStack>): string[][] {
    const inSet = new Set(members);
    const level = new Map<string, number>();
    const levelOf = (name: string): number => {
        const known = level.get(name);
        if (known !== undefined) return known;
        // No cycle reaches here (findCycle ran first), so the recursion ends.
        const needed = stacks.get(name)!.needs.filter((other) => inSet.has(other));
        const value = needed.length === 0 ? 0 : 1 + Math.max(...needed.map(levelOf));
        level.set(name, value);
        return value;
    };
    const levels: string[][] = [];
    for (const name of members) (levels[levelOf(name)] ??= []).push(name);
    return levels.map((names) => names.sort());
}
