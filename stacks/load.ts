import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument, YAMLError } from "yaml";
import { checkApps, renderApp, type AppInput, type AppPeer } from "../components/app";
import { type AppModel, checkManifestLimits, KUBERNETES_NAMESPACES, closestName, didYouMean, formatPath, given, type Problem, prototypeKeyProblems, zodProblems } from "../components/model";
import { failOnProblems } from "../components/resources";
import { checkIstioControlPlaneArgs, checkIstioSupport, istioPlatform, type IstioControlPlaneArgs } from "../components/istio";
import { checkObservabilityArgs, checkSigningKey, prometheusPeer, type ObservabilityArgs } from "../components/observability";
import type { LinkerdPlatform, Platform } from "../components/modes";
import { PROJECT, SECRET_KEYS, stackConfigSchema, type StackConfig } from "./config";
import { platformOfData } from "../components/fleet";
import { crossStackDependencyProblems, onPlatformStack, peerInputs, platformOwnedKeyProblems, stackReferenceProblems, type StackReferences } from "./fleet";
import { resolveConfigPath, toolsCacheDir } from "./paths";

/** A stack, validated and modelled: everything index.ts needs, and nothing registered yet. */
export interface LoadedStack {
    config: StackConfig;
    platform: Platform;
    /** Arguments of the Istio control plane, when the stack installs one. */
    istioControlPlane?: IstioControlPlaneArgs;
    /** Arguments of Observability (checked; the program adds the signing key secret and the control plane), when the stack wants it. */
    observability?: Omit<ObservabilityArgs, "signingKey" | "istioReady">;
    apps: AppModel[];
    /** The app specs as written, in the order of `apps`, with the mode the stack chose for each. */
    appInputs: AppInput[];
    /** The apps of the peer stacks this stack read (none without peerStacks): peers of the apps here. */
    peers: AppPeer[];
    /** Their models, in the same order, planned with this stack's apps (their dependents linked across stacks). */
    peerModels: AppModel[];
    /** Things accepted but probably meant otherwise (e.g. a key in a near-miss namespace); the program logs them. */
    warnings: string[];
}

export interface LoadOptions {
    /** Folder that app spec paths are relative to (the project root). */
    projectRoot: string;
    /** This stack's name, so it cannot name itself as its platform or a peer. @default not checked */
    stackName?: string;
    /** What this stack read from its platform stack and peer stacks (`readStackReferences`). @default none: a stack that names none */
    references?: StackReferences;
    /** Reads an app spec file (after its path was checked). @default fs.readFileSync as UTF-8 */
    readFile?: (file: string) => string;
}

/**
 * Largest app spec file read: room for config files up to a ConfigMap's 1 MiB and more, while a PR
 * cannot make the program read (and parse) an arbitrarily large file.
 */
export const MAX_SPEC_FILE_BYTES = 4 * 1024 * 1024;

const key = (name: string) => `${PROJECT}:${name}`;

/** A config namespace that is ours but mistyped (`pluggable_mesh`, `pluggablemesh`, `Pluggable-Mesh`, `pluggable-mesh.mode`). */
function meantForUs(rawKey: string): string | undefined {
    const colon = rawKey.indexOf(":");
    const namespace = colon >= 0 ? rawKey.slice(0, colon) : rawKey;
    if (namespace === PROJECT) return undefined;
    const loose = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, "");
    const rest = colon >= 0 ? rawKey.slice(colon + 1) : loose(namespace).startsWith(loose(PROJECT)) ? namespace.replace(/^[^.:_]*?mesh[-_.:]?/i, "") : undefined;
    const close = loose(namespace) === loose(PROJECT) || closestName(namespace, [PROJECT]) !== undefined || (colon < 0 && rest !== undefined);
    return close && rest !== undefined && rest.length > 0 ? rest : undefined;
}

/** Warnings for keys in another namespace that are clearly meant for this project; Pulumi hands them to us but we never read them. */
export function foreignKeyWarnings(raw: Readonly<Record<string, string>>): string[] {
    return Object.keys(raw).flatMap((rawKey) => {
        const rest = meantForUs(rawKey);
        return rest === undefined ? [] : [`${given(rawKey)} is not read by this project and is ignored; its settings are "${PROJECT}:<name>": did you mean ${given(key(rest))}?`];
    });
}

/** Turns Pulumi's flat config (`pluggable-mesh:key` → string) into the object the schema checks. */
export function projectConfig(raw: Readonly<Record<string, string>>): Record<string, unknown> {
    const config: Record<string, unknown> = {};
    for (const [rawKey, value] of Object.entries(raw)) {
        if (!rawKey.startsWith(`${PROJECT}:`)) continue;
        // Pulumi passes structured values as JSON and scalars as text; "1.34" must stay a string.
        let parsed: unknown = value;
        if (/^\s*[[{]/.test(value) || value === "true" || value === "false") {
            try {
                parsed = JSON.parse(value);
            } catch {
                // Not JSON after all: keep the text, the schema will say what it expected.
            }
        }
        // defineProperty: a key named "__proto__" stays a key (and is refused as unknown) instead of changing the prototype.
        Object.defineProperty(config, rawKey.slice(PROJECT.length + 1), { value: parsed, enumerable: true, writable: true, configurable: true });
    }
    return config;
}

function istioArgs(config: StackConfig, localChartsDir: string | undefined): IstioControlPlaneArgs {
    const istio = config.istio;
    return {
        namespace: istio.namespace,
        createNamespace: istio.createNamespace,
        version: istio.version,
        repository: istio.repository,
        localChartsDir,
        revision: istio.revision,
        trustDomain: config.trustDomain,
        meshConfig: {
            accessLogs: istio.accessLogs,
            outboundTrafficPolicy: istio.outboundTrafficPolicy,
            holdApplicationUntilProxyStarts: istio.holdApplicationUntilProxyStarts,
        },
        proxyResources: istio.proxyResources,
        gateway: istio.gateway,
        validationFailurePolicy: istio.validationFailurePolicy,
        webhookEndpoint: istio.webhookEndpoint,
        kubernetesVersion: config.kubernetesVersion,
    };
}

/** A production stack denies by default what no Linkerd policy admits, and refuses plaintext callers of STRICT apps unless allowed; any other keeps the cluster's default. */
function linkerdPlatform(config: StackConfig): LinkerdPlatform {
    const { namespace, defaultInboundPolicy, proxyAwait, allowPlaintextCallers } = config.linkerd;
    const policy = defaultInboundPolicy ?? (config.production ? "deny" : undefined);
    return {
        namespace,
        proxyAwait,
        ...(policy ? { defaultInboundPolicy: policy } : {}),
        ...(config.production && !allowPlaintextCallers ? { refusePlaintextCallers: true } : {}),
    };
}

function platformOf(config: StackConfig, istio: IstioControlPlaneArgs): Platform {
    return {
        clusterDomain: config.clusterDomain,
        trustDomain: config.trustDomain,
        envoyImage: config.envoyImage,
        ingressClassName: config.ingressClassName,
        ingressController: config.ingressController,
        networkPolicies: config.networkPolicies,
        podSecurity: config.podSecurity,
        istio:
            config.istio.controlPlane === "none"
                ? undefined
                : { ...istioPlatform(istio), ...(config.production && !config.istio.allowPlaintextCallers ? { refusePlaintextCallers: true } : {}) },
        linkerd: config.linkerd.controlPlane === "existing" ? linkerdPlatform(config) : undefined,
    };
}

/** Observability's arguments as the stack asks for them (plain values only). */
function observabilityArgs(config: StackConfig, platform: Platform): LoadedStack["observability"] {
    const wanted = config.observability;
    const istio = platform.istio;
    if (!wanted.enabled || !istio) return undefined;
    return {
        namespace: istio.namespace,
        istioNamespace: istio.namespace,
        auth: wanted.kialiAuth,
        exposure: wanted.kialiExposure === "gateway" ? { gatewayHost: wanted.kialiHost ?? "" } : wanted.kialiExposure,
        ingressGatewaySelector: istio.gateway?.selector,
        networkPolicies: config.networkPolicies !== "off",
    };
}

/** Where Observability's argument names live in the stack's config. */
const OBSERVABILITY_KEYS: Record<string, string> = {
    namespace: "istio.namespace",
    istioNamespace: "istio.namespace",
    auth: "observability.kialiAuth",
    exposure: "observability.kialiExposure",
    "exposure.gatewayHost": "observability.kialiHost",
    ingressGatewaySelector: "istio.gateway.enabled",
};

/** Checks that only make sense across keys, and the components' own checks, keyed by stack config keys. */
function crossChecks(config: StackConfig, istio: IstioControlPlaneArgs, platform: Platform): Problem[] {
    const problems: Problem[] = [];
    const observability = config.observability;
    if (config.production && observability.enabled && observability.kialiAuth === "anonymous") {
        problems.push({ key: key("observability.kialiAuth"), message: `"anonymous" is refused for a production stack (${key("production")} is true); use "token"` });
    }
    if (observability.enabled && config.istio.controlPlane === "none") {
        problems.push({ key: key("observability.enabled"), message: `Kiali needs an Istio control plane; set ${key("istio.controlPlane")} to "install" or "existing", or set this to false` });
    }
    const gatewayExposure = observability.enabled && observability.kialiExposure === "gateway";
    if (gatewayExposure) {
        if (!observability.kialiHost) problems.push({ key: key("observability.kialiHost"), message: `is required when kialiExposure is "gateway" (expected a hostname, given nothing)` });
        if (!config.istio.gateway?.enabled) problems.push({ key: key("istio.gateway.enabled"), message: `kialiExposure "gateway" needs the Istio ingress gateway; set this to true` });
    }
    const observabilityArguments = observabilityArgs(config, platform);
    if (observabilityArguments && observability.kialiHost && config.istio.gateway?.enabled) {
        // The component's own checks, so the program never reaches them with bad input (the ones above already cover a missing host or gateway).
        for (const problem of checkObservabilityArgs(observabilityArguments)) problems.push({ key: key(OBSERVABILITY_KEYS[problem.key] ?? `observability.${problem.key}`), message: problem.message });
    }
    if (config.kialiSigningKey !== undefined) {
        // Kiali refuses other lengths at start (kiali config.go validateSigningKey); the value itself is never shown.
        const problem = checkSigningKey(config.kialiSigningKey);
        if (problem) problems.push({ key: key("kialiSigningKey"), message: problem });
    }
    const istioNamespace = istio.namespace ?? "istio-system";
    if (config.istio.controlPlane === "install" && istio.createNamespace !== false && (KUBERNETES_NAMESPACES.includes(istioNamespace) || istioNamespace.startsWith("kube-"))) {
        // The control plane would own (and on removal delete) a namespace Kubernetes itself runs in.
        problems.push({
            key: key("istio.namespace"),
            message: `${given(istioNamespace)} belongs to Kubernetes; the control plane would own and could delete it, so choose another namespace or set ${key("istio.createNamespace")} to false`,
        });
    }
    if (config.istio.controlPlane === "install") {
        problems.push(...checkIstioControlPlaneArgs(istio).map((problem) => ({ ...problem, key: key(problem.key === "trustDomain" ? "trustDomain" : `istio.${problem.key}`) })));
    } else if (config.istio.controlPlane === "existing" && config.istio.version !== undefined) {
        const unsupported = checkIstioSupport(config.istio.version, config.kubernetesVersion);
        if (unsupported) problems.push({ key: key("istio.version"), message: unsupported });
    }
    return problems;
}

/** Checks the paths in config (other than app specs) and returns the Istio charts folder resolved. */
function checkConfigPaths(config: StackConfig, projectRoot: string, problems: Problem[]): { localChartsDir?: string } {
    const inProject = { folders: [projectRoot], description: "inside the project (relative to its root)" };
    const check = (name: string, value: string | undefined, roots = inProject): string | undefined => {
        if (value === undefined) return undefined;
        const resolved = resolveConfigPath(value, projectRoot, roots);
        if ("problem" in resolved) {
            problems.push({ key: key(name), message: resolved.problem });
            return undefined;
        }
        return resolved.path;
    };
    const localChartsDir = check("istio.localChartsDir", config.istio.localChartsDir, {
        folders: [projectRoot, toolsCacheDir()],
        description: "inside the project or the tools cache that tools/tools.sh fills",
    });
    check("kubernetes.renderYamlToDirectory", config.kubernetes?.renderYamlToDirectory);
    const kubeconfig = config.kubernetes?.kubeconfig;
    // The provider takes a kubeconfig's content or its path; only a path is checked (content is one value, not a file to read).
    if (kubeconfig !== undefined && !/[\n{]/.test(kubeconfig)) {
        check("kubernetes.kubeconfig", kubeconfig, { folders: [projectRoot, path.join(os.homedir(), ".kube")], description: "inside the project or ~/.kube" });
    }
    return { localChartsDir };
}

/** What a YAML parse error says, without any of the file's text (some of the parser's messages quote it). */
function yamlProblem(error: YAMLError): string {
    const QUOTING: Record<string, string> = {
        BAD_SCALAR_START: "a plain value starts with a character that is not allowed there",
        BAD_DQ_ESCAPE: "an invalid escape sequence in a double-quoted string",
        TAG_RESOLVE_FAILED: "an unresolved tag",
    };
    const words = QUOTING[error.code] ?? error.message.split("\n")[0]!.split(" at line ")[0]!.split(": ")[0]!.replace(/:$/, "");
    const where = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : "";
    return `${words.slice(0, 80)}${where}`;
}

/**
 * Reads one app spec file named in stack config (`spec`, relative to the project root): the path
 * must stay inside the project, the file be a regular file of at most {@link MAX_SPEC_FILE_BYTES},
 * and its YAML valid. Returns the parsed document and its path from the project root, or a problem
 * that names the file but never quotes it.
 */
export function readAppSpecFile(spec: string, projectRoot: string, readFile: (file: string) => string = (file) => fs.readFileSync(file, "utf8")): { spec: unknown; source: string } | { problem: string } {
    const resolved = resolveConfigPath(spec, projectRoot, { folders: [projectRoot], description: "inside the project (relative to its root)" });
    if ("problem" in resolved) return { problem: resolved.problem };
    // Problems name the file by its path from the project root, however the stack wrote it.
    const source = path.relative(projectRoot, resolved.path);
    let text: string;
    try {
        const stat = fs.statSync(resolved.path);
        if (!stat.isFile()) return { problem: `${given(spec)} is not a file; use the path of an app spec file (relative to the project root)` };
        if (stat.size > MAX_SPEC_FILE_BYTES) return { problem: `${given(spec)} is ${stat.size} bytes; app spec files are at most ${MAX_SPEC_FILE_BYTES} bytes` };
        text = readFile(resolved.path);
    } catch {
        return { problem: `cannot read app spec file ${given(spec)} (relative to the project root)` };
    }
    // Silent: the parser would print warnings itself (an unresolved tag, quoted from the file) on stderr; they are problems here.
    const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true, logLevel: "silent" });
    const failure = document.errors[0] ?? document.warnings[0];
    if (failure) return { problem: `${given(source)} is not valid YAML: ${yamlProblem(failure)}` };
    try {
        return { spec: document.toJS({ maxAliasCount: 100 }), source };
    } catch (error) {
        const reason = error instanceof YAMLError ? yamlProblem(error) : "its aliases expand too far";
        return { problem: `${given(source)} is not valid YAML: ${reason}` };
    }
}

function readAppSpecs(config: StackConfig, options: LoadOptions, problems: Problem[]): AppInput[] {
    const inputs: AppInput[] = [];
    config.apps.forEach((entry, index) => {
        const read = readAppSpecFile(entry.spec, options.projectRoot, options.readFile);
        if ("problem" in read) problems.push({ key: key(`apps[${index}].spec`), message: read.problem });
        else inputs.push({ spec: read.spec, mode: entry.mode, source: read.source });
    });
    return inputs;
}

function renderedLimitProblems(app: AppModel, platform: Platform): Problem[] {
    return renderApp(app, platform).objects.flatMap(({ manifest }) =>
        checkManifestLimits(manifest).map((finding) => ({ key: `app ${given(app.name)}: ${manifest.kind} ${given(manifest.metadata.name)}`, message: finding })),
    );
}

/** The problems of a config the schema refused; unknown keys get the closest known key and the list of known ones. */
function schemaProblems(error: import("zod").ZodError): Problem[] {
    const known = Object.keys(stackConfigSchema.shape);
    const problems = zodProblems(error, (at) => key(at), { schema: stackConfigSchema, secretPaths: SECRET_KEYS });
    return problems.flatMap((problem, index) => {
        const issue = error.issues[index]!;
        // An unknown top-level key is a key of its own (`pluggable-mesh:mtl`), not a field of "pluggable-mesh:".
        if (issue.code !== "unrecognized_keys" || issue.path.length > 0) return [problem];
        return issue.keys.map((name) => {
            // `pluggable-mesh:pluggable-mesh.mode` is what Pulumi makes of a bare `pluggable-mesh.mode`.
            const bare = name.replace(/^pluggable[-_.]?mesh[-_.:]/i, "");
            return { key: key(formatPath([name])), message: `is not a setting of this project; ${didYouMean(bare, known)}use one of ${known.join(", ")}` };
        });
    });
}

/**
 * Validates a stack's config on its own (its schema, the keys an app stack may not set, the stacks
 * it names): what must hold before the stacks it names are read. Throws a ConfigError.
 */
export function checkStackConfig(raw: Readonly<Record<string, string>>, stackName?: string): { config: StackConfig; warnings: string[] } {
    const warnings = foreignKeyWarnings(raw);
    const input = projectConfig(raw);
    failOnProblems(prototypeKeyProblems(input, key));
    const parsed = stackConfigSchema.safeParse(input, { reportInput: true });
    const owned = platformOwnedKeyProblems(input);
    if (!parsed.success) failOnProblems([...owned, ...schemaProblems(parsed.error)]);
    const config = parsed.data!;
    failOnProblems([...owned, ...stackReferenceProblems(config, stackName)]);
    return { config, warnings };
}

/**
 * Validates a stack's config and app specs and models the apps. Every problem is collected and
 * thrown at once as a ConfigError, before any resource exists: the program registers nothing
 * unless this returns. An app stack passes what it read from its platform and peer stacks.
 */
export function loadStack(raw: Readonly<Record<string, string>>, options: LoadOptions): LoadedStack {
    const { config, warnings } = checkStackConfig(raw, options.stackName);
    const references = options.references;
    const problems: Problem[] = [];
    const { localChartsDir } = checkConfigPaths(config, options.projectRoot, problems);
    const istio = istioArgs(config, localChartsDir);
    // An app stack's platform is its platform stack's, as that stack exported it.
    const platform = references?.platform ? platformOfData(references.platform.data) : platformOf(config, istio);
    const observability = observabilityArgs(config, platform);
    // Apps' NetworkPolicies admit the stack's Prometheus on their sidecars' metrics ports.
    if (observability) platform.prometheus = prometheusPeer(observability.namespace!);
    // A charts folder that was refused is not looked into.
    problems.push(...crossChecks(config, config.istio.localChartsDir !== undefined && localChartsDir === undefined ? { ...istio, localChartsDir: undefined } : istio, platform));
    const secrets = { names: Object.keys(config.secrets), source: `${key("secrets")} (pulumi config set --secret --path '${key("secrets")}.<name>')` };
    const inputs = readAppSpecs(config, options, problems).map((input) => ({ ...input, secrets }));
    // The peer stacks' apps are planned with this stack's, so addresses and authorization across stacks come out as within one.
    const peers = peerInputs(references, inputs);
    warnings.push(...peers.warnings);
    const crossStack = crossStackDependencyProblems(references, inputs);
    const { apps: planned, problems: appProblems } = checkApps([...inputs, ...peers.inputs], { platform, defaultMode: config.mode, defaultMtls: config.mtls });
    const replaced = new Set(crossStack.map((problem) => problem.key));
    problems.push(...crossStack, ...onPlatformStack(appProblems.filter((problem) => !replaced.has(problem.key)), config.platformStack));
    failOnProblems(problems);
    const apps = planned.slice(0, inputs.length);
    // A backstop: what the apps render to, checked against the API server's object limits before anything is registered.
    failOnProblems(apps.flatMap((app) => renderedLimitProblems(app, platform)));
    const remotePeers: AppPeer[] = peers.inputs.map((input) => ({ spec: input.spec as AppPeer["spec"], mode: input.mode }));
    return { config, platform, istioControlPlane: config.istio.controlPlane === "install" ? istio : undefined, observability, apps, appInputs: inputs, peers: remotePeers, peerModels: planned.slice(inputs.length), warnings };
}
