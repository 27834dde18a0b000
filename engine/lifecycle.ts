import type { DestroyResult, EngineEvent, PreviewResult, UpResult } from "@pulumi/pulumi/automation";
import { runningCluster } from "../devcluster/cluster";
import { describeObject, embeddedApiReader, embeddedClusterIdentity, forgetClusterRecord, readBack, readClusterRecord, writeClusterRecord, type ObjectCheck, type StateObject } from "./clusterRecord";
import type { EngineStack } from "./engine";
import { UserError } from "./errors";
import { releaseStaleLocks } from "./locks";
import { PROJECT } from "../stacks/config";

/**
 * `up`, `preview` and `destroy` that keep the state honest about the cluster (docs/engine.md):
 * against a cluster, the state is refreshed first, so objects deleted out of band (or a cluster
 * that came back empty) are created again instead of being reported "unchanged"; after `up`,
 * every object the state lists is read back through the API server; a state made for an
 * embedded cluster that is gone is said to be so, and `destroy` forgets it.
 */

export interface RunOptions {
    onOutput?: (text: string) => void;
    onEvent?: (event: EngineEvent) => void;
    /** Progress and explanations for the user. @default stderr */
    log?: (message: string) => void;
}

const stderrLog = (message: string): void => void process.stderr.write(`${message}\n`);

/** The embedded cluster a stack's state was deployed to, when that cluster no longer runs. */
function goneEmbeddedCluster(opened: EngineStack): { clusterDir: string } | undefined {
    const record = readClusterRecord(opened.stateDir, opened.name);
    if (!record?.embedded || !record.clusterDir) return undefined;
    return runningCluster(record.clusterDir) ? undefined : { clusterDir: record.clusterDir };
}

function refuseGoneCluster(opened: EngineStack): void {
    if (!goneEmbeddedCluster(opened)) return;
    throw new UserError(
        `stack ${opened.name} was deployed to the embedded cluster, which is not running (npm run cluster:stop ends it and discards its objects). ` +
            `\`npm start\` starts a new one and deploys the stack again; \`npm run destroy -- --stack ${opened.name}\` forgets the old deployment.`,
    );
}

/**
 * Before an operation against the embedded cluster: records which cluster the state is for, and
 * says so when the state was made for an earlier one.
 */
async function recordEmbeddedCluster(opened: EngineStack, log: (message: string) => void): Promise<void> {
    if (opened.target.kind !== "embedded") return;
    const identity = await embeddedClusterIdentity(opened.target.kubeconfig);
    const record = readClusterRecord(opened.stateDir, opened.name);
    if (record && record.kubeSystemUid !== identity.kubeSystemUid) {
        log(`stack ${opened.name}: the embedded cluster is a new one since the last deployment (npm run cluster:stop discards a cluster's objects); the refresh drops the old objects from the state and up creates them again`);
    }
    writeClusterRecord(opened.stateDir, opened.name, { embedded: true, clusterDir: opened.target.clusterDir, ...identity });
}

/**
 * With the embedded file backend, deletes the locks an engine killed mid-operation left behind
 * (engine/locks.ts), which would otherwise fail every later command.
 */
function releaseLeftoverLocks(opened: EngineStack, log: (message: string) => void): void {
    if (opened.stack.workspace.envVars.PULUMI_BACKEND_URL !== `file://${opened.stateDir}`) return;
    for (const lock of releaseStaleLocks(opened.stateDir, PROJECT, opened.name)) {
        log(`stack ${opened.name}: removed the lock of an engine that ended without releasing it (process ${lock.pid}, ${lock.timestamp}); the state is what that engine last saved (docs/engine.md, "Checkpoints")`);
    }
}

/** `up` of the stack: refreshed first against a cluster, then checked against the cluster. */
export async function deploy(opened: EngineStack, options: RunOptions = {}): Promise<UpResult> {
    const log = options.log ?? stderrLog;
    releaseLeftoverLocks(opened, log);
    refuseGoneCluster(opened);
    await recordEmbeddedCluster(opened, log);
    const againstCluster = opened.target.kind !== "render";
    const result = await opened.guard(() =>
        opened.stack.up({ configFile: opened.configFile, refresh: againstCluster, color: "never", onOutput: options.onOutput, onEvent: options.onEvent, ...opened.policy }),
    );
    if (againstCluster) await verifyDeployed(opened, log);
    return result;
}

/** `preview --diff` of the stack, against the cluster's actual objects when it has one. */
export async function previewDeploy(opened: EngineStack, options: RunOptions = {}): Promise<PreviewResult> {
    releaseLeftoverLocks(opened, options.log ?? stderrLog);
    refuseGoneCluster(opened);
    await recordEmbeddedCluster(opened, options.log ?? stderrLog);
    return opened.guard(() =>
        opened.stack.preview({ configFile: opened.configFile, diff: true, refresh: opened.target.kind !== "render", color: "never", onOutput: options.onOutput, onEvent: options.onEvent, ...opened.policy }),
    );
}

/**
 * `destroy` of the stack. When its embedded cluster is gone, its objects went with it: the state
 * forgets them (there is nothing left to delete) and says so.
 */
export async function destroyDeployment(opened: EngineStack, options: RunOptions = {}): Promise<DestroyResult> {
    const log = options.log ?? stderrLog;
    releaseLeftoverLocks(opened, log);
    if (goneEmbeddedCluster(opened)) {
        const forgotten = await forgetResources(opened);
        log(`stack ${opened.name}: its embedded cluster is gone (stopped), and its ${forgotten} objects with it; removed them from the state`);
    }
    const result = await opened.guard(() => opened.stack.destroy({ configFile: opened.configFile, color: "never", onOutput: options.onOutput, onEvent: options.onEvent }));
    forgetClusterRecord(opened.stateDir, opened.name);
    return result;
}

/** Empties the stack's state (what a destroy would leave), returning how many Kubernetes objects it listed. */
async function forgetResources(opened: EngineStack): Promise<number> {
    const exported = await opened.guard(() => opened.stack.exportStack());
    const resources = (exported.deployment?.resources ?? []) as { type: string }[];
    const objects = resources.filter((resource) => resource.type.startsWith("kubernetes:")).length;
    await opened.guard(() => opened.stack.importStack({ ...exported, deployment: { ...exported.deployment, resources: [], pending_operations: [] } }));
    return objects;
}

/** The Kubernetes objects a state lists (its own, not those it only reads), with the fields that find them. */
export function stateObjects(resources: readonly Record<string, any>[]): StateObject[] {
    return resources.flatMap((resource) => {
        const outputs = resource.outputs as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; uid?: unknown } } | undefined;
        const own = resource.custom === true && !resource.external && typeof resource.type === "string" && resource.type.startsWith("kubernetes:");
        if (!own || typeof outputs?.apiVersion !== "string" || typeof outputs.kind !== "string" || typeof outputs.metadata?.name !== "string") return [];
        return [{
            apiVersion: outputs.apiVersion,
            kind: outputs.kind,
            name: outputs.metadata.name,
            ...(typeof outputs.metadata.namespace === "string" ? { namespace: outputs.metadata.namespace } : {}),
            ...(typeof outputs.metadata.uid === "string" ? { uid: outputs.metadata.uid } : {}),
        }];
    });
}

function listed(objects: readonly StateObject[]): string {
    const shown = objects.slice(0, 5).map(describeObject).join(", ");
    return objects.length > 5 ? `${shown} and ${objects.length - 5} more` : shown;
}

/**
 * Reads every Kubernetes object the state lists back through the embedded cluster's API server;
 * one that is missing (or was made again outside the stack) fails with what to do. Against a
 * cluster of the user's, the refresh before `up` is the guard (docs/engine.md).
 */
export async function verifyDeployed(opened: EngineStack, log: (message: string) => void): Promise<ObjectCheck | undefined> {
    if (opened.target.kind !== "embedded") return undefined;
    const exported = await opened.guard(() => opened.stack.exportStack());
    const check = await readBack(stateObjects(exported.deployment?.resources ?? []), embeddedApiReader(opened.target.kubeconfig));
    const problems: string[] = [];
    if (check.missing.length > 0) {
        problems.push(`${check.missing.length === 1 ? "1 object the state lists is" : `${check.missing.length} objects the state lists are`} not in the cluster: ${listed(check.missing)}`);
    }
    if (check.replaced.length > 0) {
        problems.push(`${check.replaced.length === 1 ? "1 object was" : `${check.replaced.length} objects were`} deleted and made again outside this stack: ${listed(check.replaced)}`);
    }
    if (problems.length > 0) {
        throw new UserError(`stack ${opened.name}: ${problems.join("; ")}. Something changed the cluster outside this stack; \`npm run up -- --stack ${opened.name}\` refreshes the state from the cluster and makes them again.`);
    }
    log(`stack ${opened.name}: all ${check.read} objects the state lists were read back from the cluster`);
    return check;
}
