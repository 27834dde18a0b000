import type { Problem } from "./problems";
import { checkConfigFileLimits, checkMountPaths, checkResources, checkVolumes, namespaceOf, PLACEHOLDER } from "./limits";
import { given } from "./userText";
import { didYouMean } from "./zodProblems";
import { checkSecurityContext, componentPodSecurity, laxestNeed, type PodSecurityNeed } from "./podSecurity";
import { kubeName } from "./names";
import { checkWorkload, DEFAULT_REPLICAS, withComponentDefaults } from "./workloads";
import { isHttpProtocol, type ExternalProtocol, type Protocol, type TrafficPolicy } from "./policy";
import { isIpv4 } from "./syntax";
import {
    parseDependencyRef,
    RESERVED_PORTS,
    resolveTraffic,
    type AddressFormat,
    type AppSpec,
    type ComponentSpec,
    DEFAULT_VERSION,
    type ExternalSpec,
    type ModeName,
    type SecretSource,
} from "./spec";

/**
 * The neutral model of apps: what every mode decorates. Pure data, computed once from app specs;
 * no Pulumi here, so it is cheap to test and to benchmark.
 */

export interface ResolvedPort {
    /** The port name from the spec; also the container port name and the Service's `targetPort`. */
    name: string;
    /** The Service port callers use. */
    port: number;
    /** The port the app container listens on. */
    targetPort: number;
    protocol: Protocol;
    /** The Service port name: protocol-prefixed as Istio expects, the same in every mode. */
    servicePortName: string;
}

/** What other components need to know about a component: its identity and how to reach it. */
export interface ComponentRef {
    app: string;
    component: string;
    namespace: string;
    /** The internal domain name. */
    serviceName: string;
    /** A headless companion Service (per-pod DNS for client-side balancing; a StatefulSet's governing Service). */
    headlessServiceName: string;
    serviceAccountName: string;
    mode: ModeName;
    ports: ResolvedPort[];
    /** How callers must treat this component. */
    traffic: TrafficPolicy;
    /** Whether the component is exposed outside the cluster. */
    exposed: boolean;
    /** Whether the spec declares a traffic policy (on the app or the component) rather than relying on defaults. */
    trafficDeclared: boolean;
    /** Selector labels of the component's Services (every version's pods carry them): identical in every mode, so switching mode never replaces a workload; NetworkPolicies select its pods by them. */
    selectorLabels: Record<string, string>;
    /** The component's workloads: one per declared version, or its one unversioned workload. */
    workloads: WorkloadModel[];
    /** The declared weighted split between versions (weights above zero, in the order of `versions`); absent when none is declared. */
    split?: VersionWeight[];
}

/** One workload of a component: the Deployment (or StatefulSet) of one of its versions. */
export interface WorkloadModel {
    /** The workload's name: the component's name, or `<component>-<version>` for a declared version. */
    name: string;
    /** Appended to the component's resource names: "" for the unversioned workload, `-<version>` otherwise. */
    keySuffix: string;
    version: string;
    image: string;
    replicas: number;
    /** Environment variables (plain values and secret references): the component's, then the version's over them. */
    env: Record<string, string | SecretSource>;
    /** Selector labels: the component's, plus the version label for a declared version; identical in every mode. */
    selectorLabels: Record<string, string>;
    /** A headless Service of this version's pods only (weighted splits need one per version); present when the component declares two versions or more. */
    headlessServiceName?: string;
}

export interface VersionWeight {
    version: string;
    /** Percent of requests, 1 to 100. */
    weight: number;
}

/** Every component of every app a stack deploys, by `app/component`. */
export type Directory = ReadonlyMap<string, ComponentRef>;

export interface EnvBinding {
    name: string;
    format: AddressFormat;
}

export interface DependencyModel {
    target: ComponentRef;
    port: ResolvedPort;
    /** Variables to set, with the documented defaults first and the app's own names after. */
    env: EnvBinding[];
}

/** A caller of a component: its identity and the callee's ports it declared a dependency on. */
export interface DependentRef extends ComponentRef {
    /** The callee's ports this caller depends on, in the callee's port order. */
    calledPorts: ResolvedPort[];
}

/** A port of an external dependency. */
export interface ExternalPort {
    name: string;
    port: number;
    protocol: ExternalProtocol;
}

/**
 * A service outside the stack that components of one app call (a managed database, another
 * cluster's service): where it is and how it is spoken to. Modes reach it their own way; egress
 * rules (NetworkPolicy) use `host`/`hostKind` and the port numbers.
 */
export interface ExternalTarget {
    /** The app that declares it; only its components may depend on it. */
    app: string;
    /** Its name in `dependsOn` and placeholders (a DNS-1035 label, unique among the app's components and externals). */
    name: string;
    /** The declaring app's namespace, where mode objects for it (an Istio ServiceEntry) live. */
    namespace: string;
    /** A fully qualified DNS name outside the cluster, or an IPv4 address. */
    host: string;
    /** Whether `host` is resolved by DNS or is an IPv4 address. */
    hostKind: "dns" | "ipv4";
    ports: ExternalPort[];
    /** How callers treat it: the app's traffic policy with the external's own merged on. */
    traffic: TrafficPolicy;
    /** Whether the spec declares a traffic policy (on the app or the external). */
    trafficDeclared: boolean;
}

/** A component's dependency on one port of an external. */
export interface ExternalDependencyModel {
    target: ExternalTarget;
    port: ExternalPort;
    /** Variables to set, with the documented defaults first and the app's own names after. */
    env: EnvBinding[];
}

export interface ComponentModel extends ComponentRef {
    spec: ComponentSpec;
    /** One entry per (dependency, port) pair. */
    dependencies: DependencyModel[];
    /** One entry per (external, port) pair, in the order declared. */
    externalDependencies: ExternalDependencyModel[];
    /** Components that declared a dependency on this one, in any app, each with the ports of this one it declared. */
    dependents: DependentRef[];
}

export interface AppModel {
    name: string;
    namespace: string;
    createNamespace: boolean;
    /**
     * Keep the Namespace in the cluster when this app is removed: other apps of the stack use it too,
     * and deleting a Namespace deletes everything in it.
     */
    retainNamespace: boolean;
    mode: ModeName;
    mtls: "STRICT" | "PERMISSIVE";
    components: ComponentModel[];
    /** What the model changed or left out of the spec (dropped default variables), for the user to read. */
    warnings: string[];
    /** Services outside the stack its components depend on (declared in the spec, used or not). */
    externals: ExternalTarget[];
    /**
     * The laxest Pod Security level the pods of the app's namespace need: its components' own here,
     * joined with every mode's and every app's sharing the namespace when the apps are planned.
     */
    podSecurity: PodSecurityNeed;
}

/** The named secret values an app may reference (`{ secret: <name> }`), and how a user adds one, for messages. */
export interface SecretCatalog {
    names: readonly string[];
    /** Where names come from, e.g. "pluggable-mesh:secrets (pulumi config set --secret --path 'pluggable-mesh:secrets.<name>')". */
    source: string;
}

/** An app spec with the mode chosen for it. */
export interface PlacedApp {
    spec: AppSpec;
    mode: ModeName;
    /** Where the spec came from, for error keys (a file path, or `app "name"`). */
    source: string;
    /** The secret values the app is given; undefined: references are not checked (a peer, rendered elsewhere). */
    secrets?: SecretCatalog;
}

export function directoryKey(app: string, component: string): string {
    return `${app}/${component}`;
}

function servicePortName(name: string, protocol: Protocol): string {
    return name === protocol || name.startsWith(`${protocol}-`) ? name : `${protocol}-${name}`;
}

/** The label that tells a component's versions apart: on every pod, and in the selector of each declared version's workload. */
export const VERSION_LABEL = "app.kubernetes.io/version";

/** Selector labels of a component's Services (every version's pods). */
export function componentSelectorLabels(app: string, component: string): Record<string, string> {
    return { "app.kubernetes.io/name": component, "app.kubernetes.io/instance": app };
}

/** The component's workloads: one per declared version, or one named like the component. */
export function resolveWorkloads(app: string, component: ComponentSpec): WorkloadModel[] {
    const selectorLabels = componentSelectorLabels(app, component.name);
    if (!component.versions) {
        return [{ name: component.name, keySuffix: "", version: component.version ?? DEFAULT_VERSION, image: component.image ?? "", replicas: component.replicas ?? DEFAULT_REPLICAS, env: component.env, selectorLabels }];
    }
    const perVersionServices = component.versions.length > 1;
    return component.versions.map((version) => ({
        name: `${component.name}-${version.name}`,
        keySuffix: `-${version.name}`,
        version: version.name,
        image: version.image,
        replicas: version.replicas ?? component.replicas ?? DEFAULT_REPLICAS,
        env: { ...component.env, ...version.env },
        selectorLabels: { ...selectorLabels, [VERSION_LABEL]: version.name },
        ...(perVersionServices ? { headlessServiceName: `${component.name}-${version.name}-headless` } : {}),
    }));
}

/** The declared split, weights above zero in the order of `versions`. */
function resolveSplit(component: ComponentSpec): VersionWeight[] | undefined {
    const split = component.traffic?.split;
    if (!split || !component.versions) return undefined;
    return component.versions.filter((version) => (split[version.name] ?? 0) > 0).map((version) => ({ version: version.name, weight: split[version.name]! }));
}

export function resolvePorts(component: ComponentSpec): ResolvedPort[] {
    return component.ports.map((port) => ({
        name: port.name,
        port: port.port,
        targetPort: port.targetPort ?? port.port,
        protocol: port.protocol,
        servicePortName: servicePortName(port.name, port.protocol),
    }));
}


/** Builds the directory of every component of every app and reports name clashes between them. */
export function buildDirectory(apps: readonly PlacedApp[]): { directory: Directory; problems: Problem[] } {
    const directory = new Map<string, ComponentRef>();
    const problems: Problem[] = [];
    const servicesByNamespace = new Map<string, string>();
    const appNames = new Map<string, string>();
    for (const { spec, mode, source } of apps) {
        const previousApp = appNames.get(spec.name);
        if (previousApp !== undefined) {
            problems.push({ key: `${source}: name`, message: `app name "${spec.name}" is already used by ${previousApp}; app names must be unique in a stack` });
            continue;
        }
        appNames.set(spec.name, source);
        const namespace = namespaceOf(spec);
        spec.components.forEach((component, index) => {
            const ports = resolvePorts(component);
            const ref: ComponentRef = {
                app: spec.name,
                component: component.name,
                namespace,
                serviceName: component.name,
                headlessServiceName: `${component.name}-headless`,
                serviceAccountName: kubeName(spec.name, component.name),
                mode,
                ports,
                traffic: resolveTraffic(spec.traffic, component.traffic),
                exposed: component.expose !== undefined,
                // A split alone is routing, not a policy the app relies on a mode to enforce.
                trafficDeclared: spec.traffic !== undefined || Object.keys(component.traffic ?? {}).some((field) => field !== "split"),
                workloads: resolveWorkloads(spec.name, component),
                ...(component.traffic?.split ? { split: resolveSplit(component) } : {}),
                selectorLabels: componentSelectorLabels(spec.name, component.name),
            };
            let clashed = false;
            // Workload names count too: a version's Deployment `reviews-v1` and a component named `reviews-v1` would be one object.
            const versionNames = ref.workloads.filter((workload) => workload.keySuffix !== "").flatMap((workload) => [workload.name, ...(workload.headlessServiceName ? [workload.headlessServiceName] : [])]);
            // A version declared twice is reported once, by checkVersions.
            const names = new Set([ref.serviceName, ref.headlessServiceName, ...versionNames, ...(component.publish ? [publicServiceName(component.name)] : [])]);
            for (const serviceName of names) {
                const key = `${namespace}/${serviceName}`;
                const owner = servicesByNamespace.get(key);
                // One problem per component: its headless companion clashes whenever its main name does.
                if (owner !== undefined && !clashed) {
                    problems.push({
                        key: `${source}: components[${index}].name`,
                        message: `internal domain name "${serviceName}" is already used in namespace "${namespace}" by ${owner}; it must be unique per namespace`,
                    });
                    clashed = true;
                }
                servicesByNamespace.set(key, `${spec.name}/${component.name}`);
            }
            directory.set(directoryKey(spec.name, component.name), ref);
        });
    }
    return { directory, problems };
}

/** The Service that publishes a component's ports without a host name: its own, so the main Service never changes. */
export function publicServiceName(component: string): string {
    return `${component}-public`;
}

function envPrefix(name: string): string {
    return name.toUpperCase().replace(/-/g, "_");
}

/** The documented default variables for a dependency port: `<COMPONENT>_<PORT>_{HOST,PORT,ADDR,URL}`, and without `_<PORT>` for its first port. */
export function defaultEnvBindings(target: ComponentRef, port: ResolvedPort): EnvBinding[] {
    return defaultEnvFor(target.component, target.ports[0]?.name === port.name, port.name);
}

/** The same default variables for an external's port: `<EXTERNAL>_<PORT>_{HOST,PORT,ADDR,URL}`, and without `_<PORT>` for its first port. */
export function defaultExternalEnvBindings(target: ExternalTarget, port: ExternalPort): EnvBinding[] {
    return defaultEnvFor(target.name, target.ports[0]?.name === port.name, port.name);
}

function defaultEnvFor(name: string, firstPort: boolean, portName: string): EnvBinding[] {
    const prefixes = [`${envPrefix(name)}_${envPrefix(portName)}`];
    if (firstPort) {
        prefixes.push(envPrefix(name));
    }
    const formats: [string, AddressFormat][] = [["HOST", "host"], ["PORT", "port"], ["ADDR", "address"], ["URL", "url"]];
    return prefixes.flatMap((prefix) => formats.map(([suffix, format]) => ({ name: `${prefix}_${suffix}`, format })));
}

function checkPorts(component: ComponentSpec, at: string, problems: Problem[]): void {
    const names = new Set<string>();
    const numbers = new Set<number>();
    const targets = new Set<number>();
    component.ports.forEach((port, index) => {
        const key = `${at}.ports[${index}]`;
        if (names.has(port.name)) problems.push({ key: `${key}.name`, message: `port name "${port.name}" is used twice in component "${component.name}"` });
        if (numbers.has(port.port)) problems.push({ key: `${key}.port`, message: `port ${port.port} is used twice in component "${component.name}"` });
        const target = port.targetPort ?? port.port;
        if (targets.has(target)) problems.push({ key: `${key}.targetPort`, message: `container port ${target} is used twice in component "${component.name}"` });
        if (target >= RESERVED_PORTS.from && target <= RESERVED_PORTS.to) {
            problems.push({
                key: `${key}.${port.targetPort === undefined ? "port" : "targetPort"}`,
                message: `container port ${target} is reserved for sidecars (${RESERVED_PORTS.from}-${RESERVED_PORTS.to}); choose another port`,
            });
        }
        names.add(port.name);
        numbers.add(port.port);
        targets.add(target);
    });
    const portNames = component.ports.map((port) => port.name);
    component.publish?.ports.forEach((published, index) => {
        if (!names.has(published.port)) {
            problems.push({ key: `${at}.publish.ports[${index}].port`, message: `${given(published.port)} is not a port of component "${component.name}"; use one of ${portNames.join(", ") || "(no ports declared)"}` });
        } else if (component.publish!.ports.findIndex((other) => other.port === published.port) !== index) {
            problems.push({ key: `${at}.publish.ports[${index}].port`, message: `port "${published.port}" is published twice` });
        }
        if (published.nodePort !== undefined && component.publish!.ports.findIndex((other) => other.nodePort === published.nodePort) !== index) {
            problems.push({ key: `${at}.publish.ports[${index}].nodePort`, message: `node port ${published.nodePort} is used twice` });
        }
    });
    if (component.publish?.sourceRanges && component.publish.type !== "LoadBalancer") {
        problems.push({ key: `${at}.publish.sourceRanges`, message: `source ranges restrict a load balancer; a ${component.publish.type} Service has none, so use type LoadBalancer or drop sourceRanges` });
    }
    const exposed = component.expose && component.ports.find((port) => port.name === component.expose!.port);
    if (component.expose && !exposed) {
        problems.push({ key: `${at}.expose.port`, message: `${given(component.expose.port)} is not a port of component "${component.name}"; use one of ${portNames.join(", ") || "(no ports declared)"}` });
    } else if (exposed && !isHttpProtocol(exposed.protocol)) {
        problems.push({
            key: `${at}.expose.port`,
            message: `${given(exposed.name)} is a ${exposed.protocol} port; expose publishes an HTTP route (Ingress or the Istio gateway), so expose a port of protocol http, http2 or grpc`,
        });
    }
}

/** Versions and the split between them: names unique and short enough for the names derived from them, weights that add up. */
function checkVersions(component: ComponentSpec, at: string, problems: Problem[]): void {
    const versions = component.versions;
    const split = component.traffic?.split;
    if (!versions && component.image === undefined) problems.push({ key: `${at}.image`, message: "required (or declare versions, each with its image)" });
    if (versions) {
        if (component.image !== undefined) {
            problems.push({ key: `${at}.image`, message: `component "${component.name}" declares versions, each with its own image, so this image would run nowhere; drop it` });
        }
        if (component.version !== undefined) {
            problems.push({ key: `${at}.version`, message: `component "${component.name}" declares versions, so version ${given(component.version)} has no workload; drop version and name each entry of versions` });
        }
        if (component.storage) {
            problems.push({ key: `${at}.versions`, message: `component "${component.name}" has storage (a StatefulSet with claims per replica); versions run as Deployments, so drop one of storage and versions` });
        }
        const claim = component.volumes.find((volume) => volume.claim);
        if (claim) {
            problems.push({ key: `${at}.versions`, message: `component "${component.name}" has the claim volume "${claim.name}" (a StatefulSet with claims per replica); versions run as Deployments, so drop one of the claim and versions` });
        }
        const seen = new Set<string>();
        versions.forEach((version, index) => {
            if (seen.has(version.name)) problems.push({ key: `${at}.versions[${index}].name`, message: `version "${version.name}" is declared twice in component "${component.name}"` });
            seen.add(version.name);
            const longest = `${component.name}-${version.name}-headless`;
            if (longest.length > 63) {
                problems.push({
                    key: `${at}.versions[${index}].name`,
                    message: `the version's headless Service name "${longest}" has ${longest.length} characters, over Kubernetes' 63; shorten the component or version name`,
                });
            }
        });
    }
    if (!split) return;
    const key = `${at}.traffic.split`;
    const declared = versions?.map((version) => version.name) ?? [];
    if (declared.length < 2) {
        problems.push({ key, message: `component "${component.name}" declares ${declared.length === 0 ? "no versions" : "one version"}; a split needs two versions or more in versions` });
        return;
    }
    const unknown = Object.keys(split).filter((name) => !declared.includes(name));
    if (unknown.length > 0) problems.push({ key, message: `${unknown.map((name) => given(name)).join(", ")} ${unknown.length === 1 ? "is not a version" : "are not versions"} of component "${component.name}"; use ${declared.join(", ")}` });
    const total = Object.values(split).reduce((sum, weight) => sum + weight, 0);
    if (total !== 100) problems.push({ key, message: `weights add up to ${total}; they are percentages and must add up to 100` });
    const opaque = component.ports.filter((port) => !isHttpProtocol(port.protocol));
    if (opaque.length > 0 || component.ports.length === 0) {
        problems.push({
            key,
            message:
                opaque.length > 0
                    ? `a split routes HTTP requests, and component "${component.name}" has the ${opaque[0]!.protocol} port "${opaque[0]!.name}"; split only components whose ports are http, http2 or grpc`
                    : `component "${component.name}" has no ports, so there is nothing to split`,
        });
    }
}

/** Who maps a variable: `env`, or a dependency entry (`dependsOn[1] ("redis")`). */
interface UserEnvName {
    owner: string;
    /** Index in `dependsOn` of the entry that maps it; undefined for `env`. */
    dependency?: number;
    format?: AddressFormat;
}

/**
 * The variables the app names itself (in `env` and in dependencies' `env`). They always win over
 * the defaults; two of them with the same name are the user's own conflict, an error.
 */
function userEnvNames(component: ComponentSpec, at: string, problems: Problem[]): Map<string, UserEnvName> {
    const names = new Map<string, UserEnvName>(Object.keys(component.env).map((name) => [name, { owner: "env" }]));
    component.dependsOn.forEach((dependency, index) => {
        if (typeof dependency === "string") return;
        for (const [name, format] of Object.entries(dependency.env)) {
            const previous = names.get(name);
            const owner = `dependsOn[${index}] (${given(dependency.target)})`;
            if (previous !== undefined) {
                problems.push({ key: `${at}.dependsOn[${index}].env.${name}`, message: `variable ${name} is already set by ${previous.owner}; rename one of them` });
                continue;
            }
            names.set(name, { owner, dependency: index, format });
        }
    });
    return names;
}

/** A default variable offered by one dependency entry, before collisions are settled. */
interface DefaultOffer {
    binding: EnvBinding;
    /** Index in `dependsOn`, and the dependency (target and port) it addresses. */
    entry: number;
    ref: string;
    target: string;
}

/**
 * Drops the defaults that would shadow or contradict another variable: one the user maps (their
 * name wins), or the same default offered for another address (neither is set, since neither is
 * obviously meant). Each drop is a warning naming both sides; an identical duplicate is no conflict.
 */
function settleDefaults(offers: readonly DefaultOffer[], userNames: ReadonlyMap<string, UserEnvName>, at: string, warnings: string[]): Set<DefaultOffer> {
    const dropped = new Set<DefaultOffer>();
    const byName = new Map<string, DefaultOffer[]>();
    for (const offer of offers) byName.set(offer.binding.name, [...(byName.get(offer.binding.name) ?? []), offer]);
    for (const [name, sameName] of byName) {
        const user = userNames.get(name);
        if (user !== undefined) {
            for (const offer of sameName) {
                dropped.add(offer);
                // The user mapped this very address in the same format: their variable is the default, nothing is lost.
                if (user.dependency === offer.entry && user.format === offer.binding.format) continue;
                warnings.push(`${at}.dependsOn[${offer.entry}]: default variable ${name} (the ${offer.binding.format} of ${given(offer.ref)}) is not set; ${user.owner} sets ${name}`);
            }
            continue;
        }
        const distinct = new Map(sameName.map((offer) => [`${offer.target}|${offer.binding.format}`, offer]));
        if (distinct.size <= 1) {
            sameName.slice(1).forEach((offer) => dropped.add(offer));
            continue;
        }
        sameName.forEach((offer) => dropped.add(offer));
        const [first, second] = [...distinct.values()] as [DefaultOffer, DefaultOffer];
        warnings.push(
            `${at}.dependsOn[${second.entry}]: default variable ${name} is not set: it would be the ${first.binding.format} of ${given(first.ref)} (dependsOn[${first.entry}]) and the ${second.binding.format} of ${given(second.ref)}; map the one the app reads in that dependency's env`,
        );
    }
    return dropped;
}

/** A component's resolved dependencies: on components of the stack, and on the app's externals. */
interface ResolvedDependencies {
    dependencies: DependencyModel[];
    externalDependencies: ExternalDependencyModel[];
}

/** Resolves the dependencies of one component against the directory and the app's externals, reporting every unknown reference. */
function resolveDependencies(
    app: AppSpec,
    component: ComponentSpec,
    at: string,
    directory: Directory,
    externals: ReadonlyMap<string, ExternalTarget>,
    problems: Problem[],
    warnings: string[],
): ResolvedDependencies {
    const userNames = userEnvNames(component, at, problems);
    const withDefaults = component.dependencyEnvDefaults ?? app.dependencyEnvDefaults;
    const resolved: { dependency: DependencyModel | ExternalDependencyModel; external: boolean; entry: number; ref: string }[] = [];
    const offers: DefaultOffer[] = [];
    component.dependsOn.forEach((dependency, index) => {
        const key = `${at}.dependsOn[${index}]`;
        const { target: refText, env } = typeof dependency === "string" ? { target: dependency, env: {} } : dependency;
        const ref = parseDependencyRef(refText);
        const targetApp = ref.app ?? app.name;
        const customEnv = Object.entries(env);
        const external = ref.app === undefined ? externals.get(ref.component) : undefined;
        if (external) {
            let ports = external.ports;
            if (ref.port !== undefined) {
                ports = external.ports.filter((port) => port.name === ref.port);
                if (ports.length === 0) {
                    problems.push({ key, message: `"${ref.port}" is not a port of external "${external.name}"; use one of ${external.ports.map((p) => p.name).join(", ")}` });
                    return;
                }
            }
            if (customEnv.length > 0 && ports.length > 1) {
                problems.push({ key: `${key}.env`, message: `"${refText}" has ${ports.length} ports; name one ("${refText}:${ports[0]!.name}") to map variables to its address` });
                return;
            }
            for (const port of ports) {
                const shown = ports.length > 1 ? `${refText}:${port.name}` : refText;
                const addressed = `external ${external.app}/${external.name}:${port.name}`;
                if (withDefaults) for (const binding of defaultExternalEnvBindings(external, port)) offers.push({ binding, entry: index, ref: shown, target: addressed });
                resolved.push({ dependency: { target: external, port, env: customEnv.map(([name, format]) => ({ name, format })) }, external: true, entry: index, ref: shown });
            }
            return;
        }
        const target = directory.get(directoryKey(targetApp, ref.component));
        if (!target) {
            const known = [
                ...[...directory.values()].filter((c) => c.app === targetApp).map((c) => (ref.app ? `${c.app}/${c.component}` : c.component)),
                ...(ref.app === undefined ? [...externals.keys()].map((name) => `${name} (external)`) : []),
            ];
            problems.push({
                key,
                message: `"${refText}" is not a component ${ref.app ? `of app "${targetApp}"` : `of this app`}; known: ${known.join(", ") || "(none)"}`,
            });
            return;
        }
        if (target.app === app.name && target.component === component.name) {
            problems.push({ key, message: `component "${component.name}" cannot depend on itself` });
            return;
        }
        let ports = target.ports;
        if (ref.port !== undefined) {
            ports = target.ports.filter((port) => port.name === ref.port);
            if (ports.length === 0) {
                problems.push({ key, message: `"${ref.port}" is not a port of "${refText.split(":")[0]}"; use one of ${target.ports.map((p) => p.name).join(", ") || "(no ports declared)"}` });
                return;
            }
        } else if (ports.length === 0) {
            problems.push({ key, message: `"${refText}" declares no ports, so there is nothing to connect to` });
            return;
        }
        if (customEnv.length > 0 && ports.length > 1) {
            problems.push({ key: `${key}.env`, message: `"${refText}" has ${ports.length} ports; name one ("${refText}:${ports[0]!.name}") to map variables to its address` });
            return;
        }
        for (const port of ports) {
            const addressed = `${directoryKey(target.app, target.component)}:${port.name}`;
            const shown = ports.length > 1 ? `${refText}:${port.name}` : refText;
            if (withDefaults) for (const binding of defaultEnvBindings(target, port)) offers.push({ binding, entry: index, ref: shown, target: addressed });
            resolved.push({ dependency: { target, port, env: customEnv.map(([name, format]) => ({ name, format })) }, external: false, entry: index, ref: shown });
        }
    });
    const dropped = settleDefaults(offers, userNames, at, warnings);
    // Defaults first, then the app's own names, each dependency keeping only its surviving defaults.
    const settled = resolved.map(({ dependency, external, entry, ref }) => {
        const defaults = offers.filter((offer) => offer.entry === entry && offer.ref === ref && !dropped.has(offer)).map((offer) => offer.binding);
        return { dependency: { ...dependency, env: [...defaults, ...dependency.env] }, external };
    });
    return {
        dependencies: settled.filter((entry) => !entry.external).map((entry) => entry.dependency as DependencyModel),
        externalDependencies: settled.filter((entry) => entry.external).map((entry) => entry.dependency as ExternalDependencyModel),
    };
}

/** Every `{ secret: <name> }` of a component (in env and secretFiles) with the field it sits in. */
export function secretReferences(component: ComponentSpec): { field: string; name: string }[] {
    const fromEnv = Object.entries(component.env).flatMap(([variable, value]) => (typeof value !== "string" && value.secret !== undefined ? [{ field: `env.${variable}.secret`, name: value.secret }] : []));
    const fromFiles = component.secretFiles.flatMap((file, index) => (file.secret !== undefined ? [{ field: `secretFiles[${index}].secret`, name: file.secret }] : []));
    return [...fromEnv, ...fromFiles];
}

/** A reference to a secret value the app is not given fails before anything is registered; the values are never looked at. */
function checkSecretReferences(component: ComponentSpec, at: string, secrets: SecretCatalog | undefined, problems: Problem[]): void {
    if (secrets === undefined) return;
    for (const { field, name } of secretReferences(component)) {
        if (secrets.names.includes(name)) continue;
        const known = secrets.names.length > 0 ? `known: ${secrets.names.join(", ")}` : "none is set";
        problems.push({ key: `${at}.${field}`, message: `${given(name)} is not a secret given to this app; ${didYouMean(name, secrets.names)}${known}; set it in ${secrets.source}` });
    }
}

function checkConfigFiles(component: ComponentSpec, at: string, resolved: ResolvedDependencies, app: string, problems: Problem[]): void {
    problems.push(...checkMountPaths(component, at), ...checkConfigFileLimits(component, at));
    component.configFiles.forEach((file, index) => {
        for (const match of file.content.matchAll(PLACEHOLDER)) {
            if (!findPlaceholderDependency(resolved.dependencies, app, match[1]!, match[2]) && !findPlaceholderExternal(resolved.externalDependencies, match[1]!, match[2])) {
                problems.push({
                    key: `${at}.configFiles[${index}].content`,
                    message: `placeholder ${given(match[0])} refers to no declared dependency; declare ${given(`${match[1]}${match[2] ? `:${match[2]}` : ""}`)} in dependsOn`,
                });
            }
        }
    });
}

/** Finds the dependency a placeholder names; the first declared port when no port is named. */
export function findPlaceholderDependency(dependencies: readonly DependencyModel[], app: string, ref: string, port: string | undefined): DependencyModel | undefined {
    const [targetApp, component] = ref.includes("/") ? (ref.split("/") as [string, string]) : [app, ref];
    return dependencies.find((dependency) => dependency.target.app === targetApp && dependency.target.component === component && (port === undefined || dependency.port.name === port));
}

/** Finds the external dependency a placeholder names (externals are named without an app); the first declared port when no port is named. */
export function findPlaceholderExternal(dependencies: readonly ExternalDependencyModel[], ref: string, port: string | undefined): ExternalDependencyModel | undefined {
    return dependencies.find((dependency) => dependency.target.name === ref && (port === undefined || dependency.port.name === port));
}

/** The app's externals by name, with a problem for each that is declared twice or named like a component. */
function buildExternals(placed: PlacedApp, problems: Problem[]): Map<string, ExternalTarget> {
    const { spec, source } = placed;
    const externals = new Map<string, ExternalTarget>();
    const components = new Set(spec.components.map((component) => component.name));
    spec.externals.forEach((external: ExternalSpec, index) => {
        const at = `${source}: externals[${index}]`;
        if (components.has(external.name)) {
            problems.push({ key: `${at}.name`, message: `"${external.name}" is already a component of app "${spec.name}"; externals and components share one set of names` });
            return;
        }
        if (externals.has(external.name)) {
            problems.push({ key: `${at}.name`, message: `external "${external.name}" is declared twice in app "${spec.name}"` });
            return;
        }
        const names = new Set<string>();
        const numbers = new Set<number>();
        external.ports.forEach((port, portIndex) => {
            if (names.has(port.name)) problems.push({ key: `${at}.ports[${portIndex}].name`, message: `port name "${port.name}" is used twice in external "${external.name}"` });
            if (numbers.has(port.port)) problems.push({ key: `${at}.ports[${portIndex}].port`, message: `port ${port.port} is used twice in external "${external.name}"` });
            names.add(port.name);
            numbers.add(port.port);
        });
        externals.set(external.name, {
            app: spec.name,
            name: external.name,
            namespace: namespaceOf(spec),
            host: external.host,
            hostKind: isIpv4(external.host) ? "ipv4" : "dns",
            ports: external.ports.map((port) => ({ name: port.name, port: port.port, protocol: port.protocol })),
            traffic: resolveTraffic(spec.traffic, external.traffic),
            trafficDeclared: spec.traffic !== undefined || external.traffic !== undefined,
        });
    });
    return externals;
}

/** Builds one app's model; `problems` lists everything wrong with it, keyed by its source. */
export function buildAppModel(placed: PlacedApp, directory: Directory, defaultMtls: "STRICT" | "PERMISSIVE"): { model: AppModel; problems: Problem[] } {
    const { spec, mode, source } = placed;
    const problems: Problem[] = [];
    const warnings: string[] = [];
    const seen = new Set<string>();
    const externals = buildExternals(placed, problems);
    const components = spec.components.map((written, index) => {
        const at = `${source}: components[${index}]`;
        const component = withComponentDefaults(written, spec.componentDefaults);
        if (seen.has(component.name)) problems.push({ key: `${at}.name`, message: `component "${component.name}" is declared twice in app "${spec.name}"` });
        seen.add(component.name);
        checkPorts(component, at, problems);
        checkVersions(component, at, problems);
        problems.push(...checkResources(component, at), ...checkWorkload(component, at), ...checkVolumes(component, at), ...checkSecurityContext(component, at));
        const resolved = resolveDependencies(spec, component, at, directory, externals, problems, warnings);
        checkConfigFiles(component, at, resolved, spec.name, problems);
        checkSecretReferences(component, at, placed.secrets, problems);
        const ref = directory.get(directoryKey(spec.name, component.name))!;
        const model: ComponentModel = {
            ...ref,
            spec: component,
            ...resolved,
            dependents: [],
        };
        return model;
    });
    return {
        model: { name: spec.name, namespace: namespaceOf(spec), createNamespace: spec.createNamespace, retainNamespace: false, mode, mtls: spec.mtls ?? defaultMtls, components, warnings, externals: [...externals.values()], podSecurity: laxestNeed(spec.components.map(componentPodSecurity)) },
        problems,
    };
}

/** Fills in `dependents` across all apps: who calls whom on which ports, for authorization and NetworkPolicies. */
export function linkDependents(apps: readonly AppModel[]): void {
    const byKey = new Map<string, ComponentModel>();
    for (const app of apps) for (const component of app.components) byKey.set(directoryKey(app.name, component.component), component);
    for (const app of apps) {
        for (const component of app.components) {
            const portsByTarget = new Map<string, Set<string>>();
            for (const dependency of component.dependencies) {
                const target = directoryKey(dependency.target.app, dependency.target.component);
                portsByTarget.set(target, (portsByTarget.get(target) ?? new Set()).add(dependency.port.name));
            }
            for (const [target, portNames] of portsByTarget) {
                const callee = byKey.get(target);
                if (callee && !callee.dependents.some((d) => d.app === component.app && d.component === component.component)) {
                    const { spec: _spec, dependencies: _dependencies, dependents: _dependents, ...ref } = component;
                    callee.dependents.push({ ...ref, calledPorts: callee.ports.filter((port) => portNames.has(port.name)) });
                }
            }
        }
    }
}

/** An address as the app sees it. */
export interface Address {
    host: string;
    port: number;
    protocol: ExternalProtocol;
}

/** The scheme of an address's `url` format: http for HTTP protocols, https for HTTP over TLS, tcp otherwise. */
function urlScheme(protocol: ExternalProtocol): string {
    if (protocol === "https") return "https";
    if (protocol === "tls") return "tcp";
    return isHttpProtocol(protocol) ? "http" : "tcp";
}

/** Writes an address in one of the formats apps read. */
export function formatAddress(address: Address, format: AddressFormat): string {
    switch (format) {
        case "host":
            return address.host;
        case "port":
            return String(address.port);
        case "address":
            return `${address.host}:${address.port}`;
        case "url":
            return `${urlScheme(address.protocol)}://${address.host}:${address.port}`;
    }
}

/** The in-cluster DNS name of a Service. */
export function serviceFqdn(serviceName: string, namespace: string, clusterDomain: string): string {
    return `${serviceName}.${namespace}.svc.${clusterDomain}`;
}
