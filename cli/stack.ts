import * as path from "node:path";
import { DEFAULT_CLUSTER_DIR, runningCluster, startCluster } from "../devcluster/cluster";
import { clusterConfigured, ensureTools, openStack, PROJECT_ROOT } from "../engine/engine";
import { deploy, destroyDeployment, previewDeploy } from "../engine/lifecycle";
import { readStackFile } from "../engine/stackFile";
import { parseCommandLine, runCommand, UsageError } from "./command";

/**
 * `npm start`                               build or find the tools; with no cluster of yours, start the embedded
 *                                           one; then a real `up --yes` of the dev stack
 * `npm run up -- --stack <name>`            a real `up --yes`
 * `npm run preview -- --stack <name>`       a real `preview --diff`
 * `npm run destroy -- --stack <name>`       a real `destroy --yes`
 * `npm run outputs -- --stack <name>`       the stack outputs (secrets masked)
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

const USAGE = `usage: npm start | npm run up|preview|destroy|outputs -- [--stack <name>]
  start     build or find the tools; with no cluster of yours, start the embedded one; then up the dev stack
  up        a real \`pulumi up --yes\` of the stack
  preview   a real \`pulumi preview --diff\`
  destroy   a real \`pulumi destroy --yes\`
  outputs   the stack's outputs (secrets masked)
  --stack <name>  the stack whose Pulumi.<name>.yaml is used (default: dev)
  --no-policy     start, up and preview without the policy pack (policy/, docs/policy.md)`;

const COMMAND = { usage: USAGE, allowPositionals: true, options: { stack: { type: "string" }, "no-policy": { type: "boolean", default: false } } } as const;

async function main(argv: readonly string[]): Promise<void> {
    const { positionals, values } = parseCommandLine(COMMAND, argv);
    const command = positionals[0] as Command;
    if (positionals.length !== 1 || !COMMANDS.includes(command)) {
        throw new UsageError(positionals.length === 0 ? "no command given" : `unknown command ${JSON.stringify(positionals.join(" ")).slice(0, 60)}; use one of ${COMMANDS.join(", ")}`);
    }
    const stackName = values.stack ?? "dev";
    // The stack file first: a mistake there is reported before tools are built or a cluster started.
    readStackFile(stackName);
    const tools = ensureTools();
    if (command === "start" && !clusterConfigured() && !runningCluster()) {
        // Detached: the cluster outlives this command, until `npm run cluster:stop`.
        await startCluster({ dir: DEFAULT_CLUSTER_DIR, detach: true });
    }
    const runsPolicy = (command === "start" || command === "up" || command === "preview") && !values["no-policy"];
    const opened = await openStack(stackName, tools, { policy: runsPolicy });
    const onOutput = (line: string) => process.stdout.write(line);
    console.log(`stack ${stackName}: config ${path.relative(PROJECT_ROOT, opened.configFile)} (Pulumi.${stackName}.yaml plus embedded defaults)`);
    switch (command) {
        case "start":
        case "up": {
            const result = await deploy(opened, { onOutput });
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
            await previewDeploy(opened, { onOutput });
            break;
        case "destroy":
            await destroyDeployment(opened, { onOutput });
            break;
        case "outputs":
            showOutputs(await opened.guard(() => opened.stack.outputs()));
            break;
    }
}

if (require.main === module) runCommand(COMMAND, main);
