import type { Problem } from "./problems";
import { checkConfigFileLimits, checkMountPaths, checkResources, namespaceOf, PLACEHOLDER } from "./limits";
import { given } from "./userText";
import { kubeName } from "./names";
import { isHttpProtocol, type Protocol, type TrafficPolicy } from "./policy";
import {
    parseDependencyRef,
    RESERVED_PORTS,
    resolveTraffic,
    type AddressFormat,
    type AppSpec,
    type ComponentSpec,
    type ModeName,
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

export interface ComponentModel extends ComponentRef {
    spec: ComponentSpec;
    /** One entry per (dependency, port) pair. */
    dependencies: DependencyModel[];
    /** Components that declared a dependency on this one, in any app. */
    dependents: ComponentRef[];
    /** Selector labels: identical in every mode, so switching mode never replaces a workload. */
    selectorLabels: Record<string, string>;
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
}

/** An app spec with the mode chosen for it. */
export interface PlacedApp {
    spec: AppSpec;
    mode: ModeName;
    /** Where the spec came from, for error keys (a file path, or `app "name"`). */
    source: string;
}

export function directoryKey(app: string, component: string): string {
    return `${app}/${component}`;
}

function servicePortName(name: string, protocol: Protocol): string {
    return name === protocol || name.startsWith(`${protocol}-`) ? name : `${protocol}-${name}`;
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
                trafficDeclared: spec.traffic !== undefined || component.traffic !== undefined,
            };
            let clashed = false;
            for (const serviceName of [ref.serviceName, ref.headlessServiceName]) {
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

function envPrefix(name: string): string {
    return name.toUpperCase().replace(/-/g, "_");
}

/** The documented default variables for a dependency port: `<COMPONENT>_<PORT>_{HOST,PORT,ADDR,URL}`, and without `_<PORT>` for its first port. */
export function defaultEnvBindings(target: ComponentRef, port: ResolvedPort): EnvBinding[] {
    const prefixes = [`${envPrefix(target.component)}_${envPrefix(port.name)}`];
    if (target.ports[0]?.name === port.name) {
        prefixes.push(envPrefix(target.component));
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
    for (const [field, probe] of [["readiness", component.readiness], ["liveness", component.liveness]] as const) {
        if (probe && !names.has(probe.port)) {
            problems.push({ key: `${at}.${field}.port`, message: `${given(probe.port)} is not a port of component "${component.name}"; use one of ${portNames.join(", ") || "(no ports declared)"}` });
        }
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


/** Resolves the dependencies of one component against the directory, reporting every unknown reference. */
function resolveDependencies(app: AppSpec, component: ComponentSpec, at: string, directory: Directory, problems: Problem[]): DependencyModel[] {
    const dependencies: DependencyModel[] = [];
    const envNames = new Map<string, string>(Object.keys(component.env).map((name) => [name, "env"]));
    component.dependsOn.forEach((dependency, index) => {
        const key = `${at}.dependsOn[${index}]`;
        const { target: refText, env } = typeof dependency === "string" ? { target: dependency, env: {} } : dependency;
        const ref = parseDependencyRef(refText);
        const targetApp = ref.app ?? app.name;
        const target = directory.get(directoryKey(targetApp, ref.component));
        if (!target) {
            const known = [...directory.values()].filter((c) => c.app === targetApp).map((c) => (ref.app ? `${c.app}/${c.component}` : c.component));
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
        const customEnv = Object.entries(env);
        if (customEnv.length > 0 && ports.length > 1) {
            problems.push({ key: `${key}.env`, message: `"${refText}" has ${ports.length} ports; name one ("${refText}:${ports[0]!.name}") to map variables to its address` });
            return;
        }
        for (const port of ports) {
            const bindings = [...defaultEnvBindings(target, port), ...customEnv.map(([name, format]) => ({ name, format }))];
            for (const binding of bindings) {
                const owner = envNames.get(binding.name);
                if (owner !== undefined) {
                    problems.push({ key, message: `variable ${binding.name} for "${refText}" is already set by ${owner}; rename it in env` });
                }
                envNames.set(binding.name, `"${refText}"`);
            }
            dependencies.push({ target, port, env: bindings });
        }
    });
    return dependencies;
}

function checkConfigFiles(component: ComponentSpec, at: string, dependencies: DependencyModel[], app: string, problems: Problem[]): void {
    problems.push(...checkMountPaths(component, at), ...checkConfigFileLimits(component, at));
    component.configFiles.forEach((file, index) => {
        for (const match of file.content.matchAll(PLACEHOLDER)) {
            if (!findPlaceholderDependency(dependencies, app, match[1]!, match[2])) {
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

/** Builds one app's model; `problems` lists everything wrong with it, keyed by its source. */
export function buildAppModel(placed: PlacedApp, directory: Directory, defaultMtls: "STRICT" | "PERMISSIVE"): { model: AppModel; problems: Problem[] } {
    const { spec, mode, source } = placed;
    const problems: Problem[] = [];
    const seen = new Set<string>();
    const components = spec.components.map((component, index) => {
        const at = `${source}: components[${index}]`;
        if (seen.has(component.name)) problems.push({ key: `${at}.name`, message: `component "${component.name}" is declared twice in app "${spec.name}"` });
        seen.add(component.name);
        checkPorts(component, at, problems);
        problems.push(...checkResources(component, at));
        const dependencies = resolveDependencies(spec, component, at, directory, problems);
        checkConfigFiles(component, at, dependencies, spec.name, problems);
        const ref = directory.get(directoryKey(spec.name, component.name))!;
        const model: ComponentModel = {
            ...ref,
            spec: component,
            dependencies,
            dependents: [],
            selectorLabels: { "app.kubernetes.io/name": component.name, "app.kubernetes.io/instance": spec.name },
        };
        return model;
    });
    return {
        model: { name: spec.name, namespace: namespaceOf(spec), createNamespace: spec.createNamespace, retainNamespace: false, mode, mtls: spec.mtls ?? defaultMtls, components },
        problems,
    };
}

/** Fills in `dependents` across all apps: who calls whom, for authorization policies. */
export function linkDependents(apps: readonly AppModel[]): void {
    const byKey = new Map<string, ComponentModel>();
    for (const app of apps) for (const component of app.components) byKey.set(directoryKey(app.name, component.component), component);
    for (const app of apps) {
        for (const component of app.components) {
            const targets = new Set(component.dependencies.map((dependency) => directoryKey(dependency.target.app, dependency.target.component)));
            for (const target of targets) {
                const callee = byKey.get(target);
                if (callee && !callee.dependents.some((d) => d.app === component.app && d.component === component.component)) {
                    callee.dependents.push(component);
                }
            }
        }
    }
}

/** An address as the app sees it. */
export interface Address {
    host: string;
    port: number;
    protocol: Protocol;
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
            return `${isHttpProtocol(address.protocol) ? "http" : "tcp"}://${address.host}:${address.port}`;
    }
}

/** The in-cluster DNS name of a Service. */
export function serviceFqdn(serviceName: string, namespace: string, clusterDomain: string): string {
    return `${serviceName}.${namespace}.svc.${clusterDomain}`;
}
