import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { stringify } from "yaml";
import { pluggableMesh } from "../stacks/program";
import { PROJECT } from "../stacks/config";
import { PROJECT_ROOT, runToolsScript } from "../tools/tools";
import { runningCluster } from "../devcluster/cluster";
import { parseStackFile, readStackFile, stackFileName } from "./stackFile";
import { UserError } from "./errors";

/**
 * Runs the program through the real Pulumi engine with the Automation API's inline program: the
 * SDK serves the language runtime, so no Node.js language host is needed. The very same
 * `pluggableMesh` function that `index.ts` runs under `pulumi up`.
 */

export { PROJECT_ROOT };
/** A passphrase for the local file backend only; anything real sets PULUMI_CONFIG_PASSPHRASE. */
export const LOCAL_PASSPHRASE = "pluggable-mesh-local-only";

export interface Tools {
    pulumiBin: string;
    providerBin: string;
    istioCharts: string;
    binDir: string;
}

/** Builds or finds the pinned CLI, provider and Istio charts (tools/tools.sh). */
export function ensureTools(): Tools {
    const values = runToolsScript(["cli", "policy-analyzer", "provider", "istio"]);
    return { pulumiBin: values.PULUMI_BIN!, providerBin: values.PULUMI_KUBERNETES_PROVIDER!, istioCharts: values.ISTIO_CHARTS!, binDir: values.TOOLS_BIN! };
}

/** Whether the user ran `pulumi login` (to Pulumi Cloud or any backend). */
export function loggedIn(): boolean {
    try {
        const credentials = JSON.parse(fs.readFileSync(path.join(os.homedir(), ".pulumi", "credentials.json"), "utf8")) as { current?: string };
        return typeof credentials.current === "string" && credentials.current.length > 0;
    } catch {
        return false;
    }
}

/**
 * Whether the engine writes the state only once, at the end of an operation, instead of after every
 * step (`PULUMI_SKIP_CHECKPOINTS`; docs/engine.md, "Checkpoints"). The file backend rewrites the
 * whole state after every step, so a stack's `up` grows quadratically with its size; skipping the
 * intermediate checkpoints makes it linear, but a hard crash (SIGKILL, out of memory, power loss)
 * mid-operation then loses the record of everything that operation did. That is only acceptable
 * where the state is disposable and the next `up` puts every object back: the embedded file
 * backend together with render mode (files are rewritten) or the embedded cluster (refreshed
 * first, objects applied again). Never for a backend or a cluster of the user's.
 */
export function skipsCheckpoints(embeddedBackend: boolean, target: Target | undefined): boolean {
    return embeddedBackend && (target?.kind === "render" || target?.kind === "embedded");
}

/**
 * The environment of the engine: the user's own backend and passphrase when they set any, the
 * embedded defaults (a file backend in the project, a local-only passphrase) otherwise. With the
 * `target` known, the checkpoint policy of {@link skipsCheckpoints}; a `PULUMI_SKIP_CHECKPOINTS`
 * of the user's wins (the engine inherits it).
 */
export function engineEnvironment(tools: Tools, stateDir: string, target?: Target): Record<string, string> {
    const env: Record<string, string> = {
        PULUMI_SKIP_UPDATE_CHECK: "true",
        // The provider binary is found on PATH as an ambient plugin.
        PATH: `${tools.binDir}${path.delimiter}${process.env.PATH ?? ""}`,
    };
    const embeddedBackend = !process.env.PULUMI_BACKEND_URL && !loggedIn();
    if (embeddedBackend) {
        fs.mkdirSync(stateDir, { recursive: true });
        env.PULUMI_BACKEND_URL = `file://${stateDir}`;
    }
    if (process.env.PULUMI_SKIP_CHECKPOINTS === undefined && skipsCheckpoints(embeddedBackend, target)) {
        env.PULUMI_SKIP_CHECKPOINTS = "true";
    }
    if (!process.env.PULUMI_CONFIG_PASSPHRASE && !process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        env.PULUMI_CONFIG_PASSPHRASE = LOCAL_PASSPHRASE;
    }
    return env;
}

/** Whether kubectl-style discovery would find a cluster. */
export function clusterConfigured(): boolean {
    return Boolean(process.env.KUBECONFIG) || fs.existsSync(path.join(os.homedir(), ".kube", "config"));
}

/** Where a stack's Kubernetes objects go, as its derived config says. */
export type Target =
    /** Render mode: YAML files in `dir`, no cluster. */
    | { kind: "render"; dir: string }
    /** The embedded cluster (devcluster/) whose data directory is `clusterDir`. */
    | { kind: "embedded"; clusterDir: string; kubeconfig: string }
    /** A cluster of the user's: the ambient kubeconfig, or the one the stack names. */
    | { kind: "cluster" };

/** The target of a derived config's `pluggable-mesh:kubernetes` value. */
export function targetOf(kubernetes: unknown, root: string = PROJECT_ROOT): Target {
    const value = (kubernetes ?? {}) as { renderYamlToDirectory?: string; kubeconfig?: string };
    if (value.renderYamlToDirectory) return { kind: "render", dir: path.resolve(root, value.renderYamlToDirectory) };
    if (value.kubeconfig && path.isAbsolute(value.kubeconfig) && path.basename(value.kubeconfig) === "kubeconfig" && runningCluster(path.dirname(value.kubeconfig))?.kubeconfig === value.kubeconfig) {
        return { kind: "embedded", clusterDir: path.dirname(value.kubeconfig), kubeconfig: value.kubeconfig };
    }
    return { kind: "cluster" };
}

/**
 * The stack's own config plus the embedded defaults for a machine with no cluster of the user's
 * and no chart repository: the embedded cluster when it runs (`npm start` or `npm run
 * cluster:start`), render mode into `out/<stack>/rendered` otherwise, and Istio's charts from the
 * fetched module. Keys the stack sets itself always win. Written to a file passed with
 * `--config-file`, so the stack file is never edited.
 */
export function embeddedConfigFile(
    stack: string,
    tools: Tools,
    stateDir: string,
    overrides: Record<string, unknown> = {},
    configFrom: string = stack,
    root: string = PROJECT_ROOT,
): { file: string; target: Target } {
    const { document } = readStackFile(configFrom, root);
    const salt = readSalt(stateDir, stack);
    if (document.encryptionsalt === undefined && salt !== undefined) document.encryptionsalt = salt;
    // Overrides first: the embedded defaults below fill in only what neither the stack nor they set.
    const config = { ...document.config, ...overrides };
    const key = (name: string) => `${PROJECT}:${name}`;
    let embedded: ReturnType<typeof runningCluster>;
    if (config[key("kubernetes")] === undefined && !clusterConfigured()) {
        embedded = runningCluster();
        if (embedded) {
            config[key("kubernetes")] = { kubeconfig: embedded.kubeconfig };
            // The embedded cluster has no ingress controller to give Ingresses an address (an app stack takes this from its platform stack, docs/fleet.md).
            if (config[key("platformStack")] === undefined) config[key("ingressController")] ??= false;
        } else {
            config[key("kubernetes")] = { renderYamlToDirectory: path.join("out", stack, "rendered") };
        }
    }
    const istio = config[key("istio")] as Record<string, unknown> | undefined;
    if (istio && istio.controlPlane === "install") {
        const defaults: Record<string, unknown> = {};
        if (istio.repository === undefined && istio.localChartsDir === undefined) defaults.localChartsDir = tools.istioCharts;
        // The embedded cluster's API server reaches its istiod, a local process, only on loopback.
        if (embedded && istio.webhookEndpoint === undefined) defaults.webhookEndpoint = embedded.istiodWebhook;
        config[key("istio")] = { ...istio, ...defaults };
    }
    const file = path.join(stateDir, "config", `Pulumi.${stack}.yaml`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, stringify({ ...document, config }));
    return { file, target: targetOf(config[key("kubernetes")], root) };
}

function saltFile(stateDir: string, stack: string): string {
    return path.join(stateDir, "config", `${stack}.encryptionsalt`);
}

function readSalt(stateDir: string, stack: string): string | undefined {
    return fs.existsSync(saltFile(stateDir, stack)) ? fs.readFileSync(saltFile(stateDir, stack), "utf8").trim() : undefined;
}

/**
 * `pulumi stack init` with a passphrase writes the stack's salt into `Pulumi.<stack>.yaml`. That salt
 * belongs to whoever's passphrase made it, so it is moved next to the backend's state and merged
 * into the config file each run, and the committed stack file stays as it was.
 */
async function keepStackFileClean<T>(stack: string, stateDir: string, root: string, create: () => Promise<T>): Promise<T> {
    const stackFile = path.join(root, stackFileName(stack));
    const before = fs.existsSync(stackFile) ? fs.readFileSync(stackFile, "utf8") : undefined;
    const result = await create();
    const after = fs.existsSync(stackFile) ? fs.readFileSync(stackFile, "utf8") : undefined;
    if (after !== before) {
        const salt = parseStackFile(after ?? "", path.basename(stackFile)).encryptionsalt;
        if (salt !== undefined && parseStackFile(before ?? "", path.basename(stackFile)).encryptionsalt === undefined) {
            fs.mkdirSync(path.dirname(saltFile(stateDir, stack)), { recursive: true });
            fs.writeFileSync(saltFile(stateDir, stack), `${salt}\n`);
        }
        if (before === undefined) fs.rmSync(stackFile, { force: true });
        else fs.writeFileSync(stackFile, before);
    }
    return result;
}

/** The policy pack (policy/, see docs/policy.md) that preview and up run unless told not to. */
export const POLICY_PACK_DIR = path.join(PROJECT_ROOT, "policy");

/** Automation API options for `preview`/`up`: the policy pack with a stack's policy config. */
export interface PolicyOptions {
    policyPacks?: string[];
    policyPackConfigs?: string[];
}

/**
 * The pack and `policy/config/<stack>.json` (when there is one), or nothing when `enabled` is false
 * (`--no-policy`). Fails with what to run when the pack's own packages are not installed.
 */
export function policyOptions(stack: string, enabled = true): PolicyOptions {
    if (!enabled) return {};
    if (!fs.existsSync(path.join(POLICY_PACK_DIR, "node_modules", "@pulumi", "policy"))) {
        throw new UserError("the policy pack's packages are not installed: run `npm ci --prefix policy` (`npm ci` runs it), or pass --no-policy to skip the pack");
    }
    const config = path.join(POLICY_PACK_DIR, "config", `${stack}.json`);
    return { policyPacks: [POLICY_PACK_DIR], ...(fs.existsSync(config) ? { policyPackConfigs: [config] } : {}) };
}

export interface EngineStack {
    stack: Stack;
    /** The stack's name in the backend. */
    name: string;
    /** Backend and derived-config directory. */
    stateDir: string;
    configFile: string;
    /** Where the stack's objects go with this config. */
    target: Target;
    /** Spread into `preview`/`up` to run the policy pack (empty with `policy: false`). */
    policy: PolicyOptions;
    /** Runs an engine operation without letting it edit the committed stack file (see keepStackFileClean). */
    guard<T>(operation: () => Promise<T>): Promise<T>;
}

/** Selects (or creates) a stack whose program is `pluggableMesh`, with the project root as workDir. */
export interface OpenOptions {
    /** Backend and derived-config directory. @default `.pulumi-state` in the project (git-ignored) */
    stateDir?: string;
    /** Config keys (full `pluggable-mesh:` names) that replace the stack file's values. @default {} */
    overrides?: Record<string, unknown>;
    /** The stack file to take config from. @default the stack's own `Pulumi.<stack>.yaml` */
    configFrom?: string;
    /**
     * Project directory whose stack program and stack files are used (for example a worktree of
     * another revision). @default this project
     */
    root?: string;
    /** Run the policy pack on preview and up, with the config of `configFrom`. @default true */
    policy?: boolean;
}

/** The program of a project directory: this one's, or another checkout's (loaded through tsx). */
function programOf(root: string): (projectRoot: string) => Record<string, any> | Promise<Record<string, any>> {
    if (path.resolve(root) === PROJECT_ROOT) return async (projectRoot) => ({ ...(await pluggableMesh(projectRoot)) });
    // The stack program moved from program.ts to stacks/program.ts; a base revision may predate that.
    const program = [path.join(root, "stacks", "program.ts"), path.join(root, "program.ts")].find((file) => fs.existsSync(file))!;
    return (require(program) as { pluggableMesh: (projectRoot: string) => Record<string, any> }).pluggableMesh;
}

/**
 * The stacks of this project that have a deployment in the backend `openStack` uses (their state
 * lists resources): one `pulumi stack ls`, no program run.
 */
export async function deployedStacks(tools: Tools, options: Pick<OpenOptions, "stateDir" | "root"> = {}): Promise<Set<string>> {
    return stacksInBackend(tools, options, true);
}

/** Stacks of this project the backend has (deployed or not), by their own name. */
async function stacksInBackend(tools: Tools, options: Pick<OpenOptions, "stateDir" | "root">, deployedOnly: boolean): Promise<Set<string>> {
    const root = path.resolve(options.root ?? PROJECT_ROOT);
    const stateDir = options.stateDir ?? path.join(PROJECT_ROOT, ".pulumi-state");
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(tools.binDir), skipVersionCheck: true });
    const workspace = await LocalWorkspace.create({ workDir: root, pulumiCommand, envVars: engineEnvironment(tools, stateDir) });
    const stacks = await workspace.listStacks();
    // A file backend may list a stack as org/project/stack; the set names stacks of this project by their own name.
    return new Set(stacks.filter((stack) => !deployedOnly || (stack.resourceCount ?? 0) > 0).map((stack) => stack.name.split("/").pop()!));
}

/**
 * Creates, empty, the stacks of `names` the backend does not have yet. A StackReference to a stack
 * that does not exist fails the whole run inside the engine (`unknown stack`), before the program
 * can treat it as not deployed; so before the first `up` of a set, a callee stack that names its
 * callers in `peerStacks` would fail on callers that run after it. Returns the stacks created.
 */
export async function createMissingStacks(tools: Tools, names: readonly string[], options: Pick<OpenOptions, "stateDir" | "root"> = {}): Promise<string[]> {
    const existing = await stacksInBackend(tools, options, false);
    const missing = names.filter((name) => !existing.has(name));
    // One at a time: each creation may write the stack's salt, which keepStackFileClean moves aside.
    for (const name of missing) await openStack(name, tools, { ...options, policy: false });
    return missing;
}

export async function openStack(stackName: string, tools: Tools, options: OpenOptions = {}): Promise<EngineStack> {
    const root = path.resolve(options.root ?? PROJECT_ROOT);
    // A bad stack name or stack file fails here, before the engine creates anything.
    stackFileName(stackName);
    readStackFile(options.configFrom ?? stackName, root);
    const stateDir = options.stateDir ?? path.join(PROJECT_ROOT, ".pulumi-state");
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(tools.binDir), skipVersionCheck: true });
    const program = programOf(root);
    const stack = await keepStackFileClean(stackName, stateDir, root, () =>
        LocalWorkspace.createOrSelectStack(
            { projectName: PROJECT, stackName, program: async () => program(root) },
            { workDir: root, pulumiCommand, envVars: engineEnvironment(tools, stateDir) },
        ),
    );
    const { file, target } = embeddedConfigFile(stackName, tools, stateDir, options.overrides, options.configFrom, root);
    // The checkpoint policy depends on the target, known only now; it matters from the first up on.
    Object.assign(stack.workspace.envVars, engineEnvironment(tools, stateDir, target));
    return {
        stack,
        name: stackName,
        stateDir,
        configFile: file,
        target,
        policy: policyOptions(options.configFrom ?? stackName, options.policy ?? true),
        guard: (operation) => keepStackFileClean(stackName, stateDir, root, operation),
    };
}
