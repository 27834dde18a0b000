import { given, type Problem } from "../components/model";
import { PROJECT } from "../stacks/config";
import { readAppSpecFile } from "../stacks/load";
import { PROJECT_ROOT } from "../tools/tools";
import { planStackSet, type AppCalls, type StackEntry, type StackSetPlan } from "./stackSet";
import { listStacks, readStackFile } from "./stackFile";

/**
 * What the planner (engine/stackSet.ts) reads from a project: every stack file's set keys, and the
 * app specs a stack lists (through the program's own reader: paths inside the project, size
 * limit, YAML without quoting the file). Only app names and `other-app/component` targets are
 * taken from a spec; the program checks the rest when the stack runs.
 */

const key = (name: string) => `${PROJECT}:${name}`;

/** `app/component[:port]`: the app part of a dependency on another app's component. */
const OTHER_APP = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\//;

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The apps a spec's components call, other than the spec's own app. */
export function callsOfSpec(spec: unknown): { app?: string; calls: string[] } {
    if (!isRecord(spec)) return { calls: [] };
    const app = typeof spec.name === "string" ? spec.name : undefined;
    const calls = new Set<string>();
    for (const component of Array.isArray(spec.components) ? spec.components : []) {
        if (!isRecord(component) || !Array.isArray(component.dependsOn)) continue;
        for (const dependency of component.dependsOn) {
            const target = typeof dependency === "string" ? dependency : isRecord(dependency) && typeof dependency.target === "string" ? dependency.target : undefined;
            const other = target === undefined ? undefined : OTHER_APP.exec(target)?.[1];
            if (other !== undefined && other !== app) calls.add(other);
        }
    }
    return { ...(app !== undefined ? { app } : {}), calls: [...calls].sort() };
}

/** The apps of one stack's config, read from the spec files it lists. */
export function appsOfConfig(stack: string, config: Readonly<Record<string, unknown>>, root: string): AppCalls[] | Problem[] {
    const listed = config[key("apps")];
    if (listed === undefined) return [];
    const at = `Pulumi.${stack}.yaml: ${key("apps")}`;
    if (!Array.isArray(listed)) return [{ key: at, message: `expected a list of { spec: <file> }, given ${given(listed)}` }];
    const apps: AppCalls[] = [];
    const problems: Problem[] = [];
    listed.forEach((entry, index) => {
        const spec = isRecord(entry) ? entry.spec : undefined;
        if (typeof spec !== "string" || spec.length === 0) {
            problems.push({ key: `${at}[${index}].spec`, message: `expected the path of an app spec file (relative to the project root), given ${given(spec)}` });
            return;
        }
        const read = readAppSpecFile(spec, root);
        if ("problem" in read) {
            problems.push({ key: `${at}[${index}].spec`, message: read.problem });
            return;
        }
        const { app, calls } = callsOfSpec(read.spec);
        // A spec without a name is the program's to report, with the rest of its checks.
        if (app !== undefined) apps.push({ app, source: read.source, calls });
    });
    return problems.length > 0 ? problems : apps;
}

/**
 * Plans the set of `target` from the stack files and app specs of the project at `root`. Every
 * stack file is read when `target` is a platform stack (any of them may name it), otherwise only
 * `target` and the stacks it reads (its platform, its peers and theirs): a broken stack file of
 * another team does not stop an app stack's command.
 */
export function planProjectSet(target: string, root: string = PROJECT_ROOT): StackSetPlan {
    // The named stack first: a missing or broken one is reported as every command reports it.
    const configs = new Map([[target, readStackFile(target, root).document.config]]);
    const names = listStacks(root);
    const read = (name: string) => configs.get(name) ?? configs.set(name, readStackFile(name, root).document.config).get(name)!;
    const referenced = (config: Record<string, unknown>): string[] =>
        [config[key("platformStack")], ...(Array.isArray(config[key("peerStacks")]) ? (config[key("peerStacks")] as unknown[]) : [])].filter(
            (name): name is string => typeof name === "string" && names.includes(name),
        );
    if (configs.get(target)![key("platformStack")] === undefined) {
        names.forEach(read);
    } else {
        const queue = [target];
        while (queue.length > 0) {
            for (const name of referenced(read(queue.pop()!))) {
                if (configs.has(name)) continue;
                read(name);
                queue.push(name);
            }
        }
    }
    const entries: StackEntry[] = names.map((name) => {
        const config = configs.get(name);
        return config ? { name, platformStack: config[key("platformStack")], peerStacks: config[key("peerStacks")] } : { name };
    });
    return planStackSet(target, entries, (stack) => appsOfConfig(stack, configs.get(stack)!, root));
}
