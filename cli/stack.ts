import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { DEFAULT_CLUSTER_DIR, runningCluster, startCluster } from "../devcluster/cluster";
import { clusterConfigured, createMissingStacks, deployedStacks, ensureTools, openStack, PROJECT_ROOT, type Tools } from "../engine/engine";
import { UserError } from "../engine/errors";
import { deploy, destroyDeployment, previewDeploy } from "../engine/lifecycle";
import { changesOf, exitCodeOfSet, runStackSet, summaryTable, undeployedMessage, type Operation } from "../engine/orchestrate";
import { peersChangedIn, reportToParent, runChildStack, runsForParent } from "../engine/stackProcess";
import { destroyLevels, runOrder, type StackSetPlan } from "../engine/stackSet";
import { planProjectSet } from "../engine/stackSetFiles";
import { parseCommandLine, runCommand, UsageError } from "./command";

/**
 * `npm start`                               build or find the tools; with no cluster of yours, start the embedded
 *                                           one; then a real `up --yes` of the dev stack's set
 * `npm run up -- --stack <name>`            a real `up --yes` of the stack's set
 * `npm run preview -- --stack <name>`       a real `preview --diff` of the set
 * `npm run destroy -- --stack <name>`       a real `destroy --yes` of the set, in reverse
 * `npm run outputs -- --stack <name>`       the stack outputs (secrets masked)
 *
 * The set of a platform stack is itself and every app stack naming it in `platformStack`; the set
 * of any other stack is itself (engine/stackSet.ts, docs/fleet.md). A set of more than one stack
 * runs each stack in a child process of its own (this command with `--only`), at most `--parallel`
 * at once, and ends with a summary table.
 *
 * start, up and preview run the policy pack (policy/, docs/policy.md) with the stack's policy
 * config; `--no-policy` skips it.
 */

type Command = "start" | "up" | "preview" | "destroy" | "outputs";
const COMMANDS: readonly Command[] = ["start", "up", "preview", "destroy", "outputs"];

function showOutputs(outputs: Record<string, { value: unknown; secret: boolean }>): void {
    console.log("\nOutputs:");
    for (const [name, output] of Object.entries(outputs)) {
        console.log(`  ${name}: ${output.secret ? "[secret] (pulumi stack output --show-secrets)" : JSON.stringify(output.value)}`);
    }
}

/** What the machine allows at once when `--parallel` is not given. */
export const DEFAULT_PARALLEL = Math.max(1, os.availableParallelism());

const USAGE = `usage: npm start | npm run up|preview|destroy|outputs -- [--stack <name>] [--only] [--parallel <n>] [--no-policy]
  start     build or find the tools; with no cluster of yours, start the embedded one; then up the stack's set
  up        a real \`pulumi up --yes\` of the stack's set: the platform first, then its app stacks
  preview   a real \`pulumi preview --diff\` of the set
  destroy   a real \`pulumi destroy --yes\` of the set, in reverse
  outputs   the stack's outputs (secrets masked)
  --stack <name>    the stack whose Pulumi.<name>.yaml is used (default: dev); a platform stack's set
                    is itself and every app stack naming it in platformStack, any other stack's is itself
  --only            just the named stack, not its set
  --parallel <n>    at most n stacks at once (default: ${DEFAULT_PARALLEL}, the CPUs of this machine)
  --no-policy       start, up and preview without the policy pack (policy/, docs/policy.md)`;

const COMMAND = {
    usage: USAGE,
    allowPositionals: true,
    options: { stack: { type: "string" }, only: { type: "boolean", default: false }, parallel: { type: "string" }, "no-policy": { type: "boolean", default: false } },
} as const;

/** The command line, checked: which command, on which stack, how. */
export interface StackCommandLine {
    command: Command;
    stack: string;
    only: boolean;
    parallel: number;
    policy: boolean;
}

export function parseStackCommandLine(argv: readonly string[]): StackCommandLine {
    const { positionals, values } = parseCommandLine(COMMAND, argv);
    const command = positionals[0] as Command;
    if (positionals.length !== 1 || !COMMANDS.includes(command)) {
        throw new UsageError(positionals.length === 0 ? "no command given" : `unknown command ${JSON.stringify(positionals.join(" ")).slice(0, 60)}; use one of ${COMMANDS.join(", ")}`);
    }
    let parallel = DEFAULT_PARALLEL;
    if (values.parallel !== undefined) {
        if (!/^[1-9][0-9]{0,3}$/.test(values.parallel)) throw new UsageError(`--parallel expects a whole number from 1 to 9999, given ${JSON.stringify(values.parallel.slice(0, 20))}`);
        parallel = Number(values.parallel);
    }
    return { command, stack: values.stack ?? "dev", only: values.only!, parallel, policy: !values["no-policy"] };
}

/** The operation a command runs on each stack (`start` is `up` after the cluster). */
function operationOf(command: Exclude<Command, "outputs">): Operation {
    return command === "start" ? "up" : command;
}

/**
 * One stack in this process: the single-stack commands as they always were. Stacks it needs
 * (its platform, the stacks its apps call) must be deployed: without, a clear message says what to run.
 */
async function runOneStack(line: StackCommandLine, plan: StackSetPlan, tools: Tools): Promise<void> {
    const stackName = line.stack;
    const operation = operationOf(line.command as Exclude<Command, "outputs">);
    const needs = plan.stacks.get(stackName)!.needs.filter((needed) => !needed.includes("/"));
    // A parent running the set checked this already (and deployed what it needs first).
    if (operation !== "destroy" && needs.length > 0 && !runsForParent()) {
        const deployed = await deployedStacks(tools);
        const absent = needs.filter((needed) => !deployed.has(needed));
        if (absent.length > 0) throw new UserError(undeployedMessage(plan, stackName, absent));
    }
    const opened = await openStack(stackName, tools, { policy: operation !== "destroy" && line.policy });
    const events: EngineEvent[] = [];
    const onOutput = (text: string) => process.stdout.write(text);
    const onEvent = (event: EngineEvent) => void events.push(event);
    console.log(`stack ${stackName}: config ${path.relative(PROJECT_ROOT, opened.configFile)} (Pulumi.${stackName}.yaml plus embedded defaults)`);
    let changes = 0;
    switch (operation) {
        case "up": {
            const result = await deploy(opened, { onOutput, onEvent });
            changes = changesOf(result.summary.resourceChanges);
            showOutputs(result.outputs);
            if (opened.target.kind === "embedded") {
                console.log(`\nDeployed to the embedded cluster. Reach it with:\n  kubectl --kubeconfig ${path.relative(process.cwd(), opened.target.kubeconfig)} get pods -A`);
                console.log("Stop it with: npm run cluster:stop (it discards the cluster's objects; the next `npm start` deploys them again)");
            } else if (opened.target.kind === "render") {
                console.log(`\nThe stack rendered (render mode) into ${path.relative(process.cwd(), opened.target.dir)}/`);
            }
            break;
        }
        case "preview":
            changes = changesOf((await previewDeploy(opened, { onOutput })).changeSummary);
            break;
        case "destroy":
            changes = changesOf((await destroyDeployment(opened, { onOutput })).summary.resourceChanges);
            break;
    }
    // The events tell whether the peers output changed; without them, any change may have.
    await reportToParent({ changes, peersChanged: operation === "up" && (peersChangedIn(events) ?? changes > 0) });
}

/** The set in child processes, one per stack, with a summary at the end; returns the exit code. */
async function runSet(line: StackCommandLine, plan: StackSetPlan, tools: Tools): Promise<number> {
    const operation = operationOf(line.command as Exclude<Command, "outputs">);
    const order = runOrder(plan);
    const width = Math.max(...order.map((stack) => stack.length));
    const levels = operation === "destroy" ? destroyLevels(plan) : plan.levels;
    console.log(`${operation} of the set of ${plan.target}: ${levels.map((level) => level.join(" + ")).join(" → ")} (at most ${line.parallel} at once)`);
    if (operation !== "destroy") {
        // StackReferences to a stack that does not exist fail in the engine; one that exists but is not deployed reads as such.
        const created = await createMissingStacks(tools, order);
        if (created.length > 0) console.log(`created the stacks ${created.join(", ")} (empty) so the set's stack references resolve`);
    }
    let deployed: Promise<Set<string>> | undefined;
    const records = await runStackSet(plan, {
        operation,
        parallel: line.parallel,
        deployed: async (stack) => (await (deployed ??= deployedStacks(tools))).has(stack),
        log: (text) => console.log(text),
        run: (stack, op) =>
            runChildStack({
                script: __filename,
                args: [op, "--stack", stack, "--only", ...(line.policy ? [] : ["--no-policy"])],
                cwd: process.cwd(),
                prefix: `${stack.padEnd(width)} | `,
                stdout: (text) => process.stdout.write(text),
                stderr: (text) => process.stderr.write(text),
            }),
    });
    console.log(`\n${summaryTable(records)}`);
    return exitCodeOfSet(records);
}

async function main(argv: readonly string[]): Promise<number | void> {
    const line = parseStackCommandLine(argv);
    // The stack files first: a mistake there (or in the set's references) is reported before tools are built or a cluster started.
    const plan = planProjectSet(line.stack);
    const tools = ensureTools();
    if (line.command === "outputs") {
        const opened = await openStack(line.stack, tools, { policy: false });
        showOutputs(await opened.guard(() => opened.stack.outputs()));
        return;
    }
    if (line.command === "start" && !runsForParent() && !clusterConfigured() && !runningCluster()) {
        // Detached: the cluster outlives this command, until `npm run cluster:stop`.
        await startCluster({ dir: DEFAULT_CLUSTER_DIR, detach: true });
    }
    if (line.only || runOrder(plan).length === 1) return runOneStack(line, plan, tools);
    return runSet(line, plan, tools);
}

if (require.main === module) runCommand(COMMAND, main);
