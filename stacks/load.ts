import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { checkApps, type AppInput } from "../components/app";
import { type AppModel, given, type Problem, zodProblems } from "../components/model";
import { failOnProblems } from "../components/resources";
import { checkIstioControlPlaneArgs, checkIstioSupport, istioPlatform, type IstioControlPlaneArgs } from "../components/istio";
import type { Platform } from "../components/modes";
import { PROJECT, stackConfigSchema, type StackConfig } from "./config";

/** A stack, validated and modelled: everything index.ts needs, and nothing registered yet. */
export interface LoadedStack {
    config: StackConfig;
    platform: Platform;
    /** Arguments of the Istio control plane, when the stack installs one. */
    istioControlPlane?: IstioControlPlaneArgs;
    apps: AppModel[];
    /** The app specs as written, in the order of `apps`, with the mode the stack chose for each. */
    appInputs: AppInput[];
}

export interface LoadOptions {
    /** Folder that app spec paths are relative to (the project root). */
    projectRoot: string;
    /** Reads an app spec file. @default fs.readFileSync as UTF-8 */
    readFile?: (file: string) => string;
}

/** Turns Pulumi's flat config (`pluggable-mesh:key` → string) into the object the schema checks. */
export function projectConfig(raw: Readonly<Record<string, string>>): Record<string, unknown> {
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
        if (!key.startsWith(`${PROJECT}:`)) continue;
        // Pulumi passes structured values as JSON and scalars as text; "1.34" must stay a string.
        let parsed: unknown = value;
        if (/^\s*[[{]/.test(value) || value === "true" || value === "false") {
            try {
                parsed = JSON.parse(value);
            } catch {
                // Not JSON after all: keep the text, the schema will say what it expected.
            }
        }
        config[key.slice(PROJECT.length + 1)] = parsed;
    }
    return config;
}

function istioArgs(config: StackConfig): IstioControlPlaneArgs {
    const istio = config.istio;
    return {
        namespace: istio.namespace,
        createNamespace: istio.createNamespace,
        version: istio.version,
        repository: istio.repository,
        localChartsDir: istio.localChartsDir,
        revision: istio.revision,
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

function platformOf(config: StackConfig, istio: IstioControlPlaneArgs): Platform {
    return {
        clusterDomain: config.clusterDomain,
        trustDomain: config.trustDomain,
        envoyImage: config.envoyImage,
        ingressClassName: config.ingressClassName,
        ingressController: config.ingressController,
        istio: config.istio.controlPlane === "none" ? undefined : istioPlatform(istio, config.trustDomain),
        linkerd: config.linkerd.controlPlane === "existing" ? { namespace: config.linkerd.namespace } : undefined,
    };
}

/** Checks that only make sense across keys. */
function crossChecks(config: StackConfig, istio: IstioControlPlaneArgs): Problem[] {
    const problems: Problem[] = [];
    const key = (name: string) => `${PROJECT}:${name}`;
    const observability = config.observability;
    if (config.production && observability.enabled && observability.kialiAuth === "anonymous") {
        problems.push({ key: key("observability.kialiAuth"), message: `"anonymous" is refused for a production stack (${key("production")} is true); use "token"` });
    }
    if (observability.enabled && config.istio.controlPlane === "none") {
        problems.push({ key: key("observability.enabled"), message: `Kiali needs an Istio control plane; set ${key("istio.controlPlane")} to "install" or "existing", or set this to false` });
    }
    if (observability.enabled && observability.kialiExposure === "gateway") {
        if (!observability.kialiHost) problems.push({ key: key("observability.kialiHost"), message: `is required when kialiExposure is "gateway" (expected a hostname, given nothing)` });
        if (!config.istio.gateway?.enabled) problems.push({ key: key("istio.gateway.enabled"), message: `kialiExposure "gateway" needs the Istio ingress gateway; set this to true` });
    }
    if (config.istio.controlPlane === "install") {
        problems.push(...checkIstioControlPlaneArgs(istio).map((problem) => ({ ...problem, key: key(`istio.${problem.key}`) })));
    } else if (config.istio.controlPlane === "existing" && config.istio.version !== undefined) {
        const unsupported = checkIstioSupport(config.istio.version, config.kubernetesVersion);
        if (unsupported) problems.push({ key: key("istio.version"), message: unsupported });
    }
    return problems;
}

function readAppSpecs(config: StackConfig, options: LoadOptions, problems: Problem[]): AppInput[] {
    const readFile = options.readFile ?? ((file: string) => fs.readFileSync(file, "utf8"));
    const inputs: AppInput[] = [];
    config.apps.forEach((entry, index) => {
        const key = `${PROJECT}:apps[${index}].spec`;
        let text: string;
        try {
            text = readFile(path.resolve(options.projectRoot, entry.spec));
        } catch {
            problems.push({ key, message: `cannot read app spec file ${given(entry.spec)} (relative to the project root)` });
            return;
        }
        try {
            inputs.push({ spec: parseYaml(text, { uniqueKeys: true }), mode: entry.mode, source: entry.spec });
        } catch (error) {
            problems.push({ key, message: `${entry.spec} is not valid YAML: ${(error as Error).message.split("\n")[0]!.replace(/:$/, "")}` });
        }
    });
    return inputs;
}

/**
 * Validates a stack's config and app specs and models the apps. Every problem is collected and
 * thrown at once as a ConfigError, before any resource exists.
 */
export function loadStack(raw: Readonly<Record<string, string>>, options: LoadOptions): LoadedStack {
    const parsed = stackConfigSchema.safeParse(projectConfig(raw), { reportInput: true });
    if (!parsed.success) {
        const issues = parsed.error.issues;
        // An unknown top-level key is a key of its own (`pluggable-mesh:mtl`), not a field of "pluggable-mesh:".
        const known = Object.keys(stackConfigSchema.shape).join(", ");
        failOnProblems(
            zodProblems(parsed.error, (at) => `${PROJECT}:${at}`).flatMap((problem, index) => {
                const issue = issues[index]!;
                return issue.code === "unrecognized_keys" && issue.path.length === 0
                    ? issue.keys.map((name) => ({ key: `${PROJECT}:${name}`, message: `is not a setting of this project; use one of ${known}` }))
                    : [problem];
            }),
        );
    }
    const config = parsed.data!;
    const istio = istioArgs(config);
    const problems = crossChecks(config, istio);
    const inputs = readAppSpecs(config, options, problems);
    const platform = platformOf(config, istio);
    const { apps, problems: appProblems } = checkApps(inputs, { platform, defaultMode: config.mode, defaultMtls: config.mtls });
    problems.push(...appProblems);
    failOnProblems(problems);
    return { config, platform, istioControlPlane: config.istio.controlPlane === "install" ? istio : undefined, apps, appInputs: inputs };
}
