import type { Problem } from "./problems";
import { VOLUME_SOURCES, type AppSpec, type ComponentSpec } from "./spec";
import type { Manifest } from "./manifest";
import { configMapKey, dns1035Label, dnsLabel, dnsSubdomain, labelKey, labelValue, MAX_ANNOTATIONS_BYTES, MAX_CONFIG_MAP_BYTES, normalMountPath, parseQuantity } from "./syntax";
import { given } from "./userText";

/**
 * Checks of an app spec against limits Kubernetes enforces only at deploy time (a request above
 * its limit, a ConfigMap over 1 MiB, two mounts at one path, ...), and against mistakes that would
 * deploy but not work (an unknown placeholder shipped literally). Pure; keyed like the schema's problems.
 */

/** The ConfigMap key a config file is stored under: its index and file name, in the characters a key allows. */
export function configFileKey(index: number, filePath: string): string {
    return `file-${index}-${filePath.split("/").pop()!.replace(/[^-._a-zA-Z0-9]/g, "_")}`;
}

/**
 * The longest text a placeholder can become: a URL of a DNS name (253) with scheme and port. Config
 * file sizes count every placeholder at this length, so a file that fits here fits in every mode.
 */
export const MAX_PLACEHOLDER_EXPANSION = "http://".length + 253 + ":65535".length;

/** Placeholders in config files: `{{ component.port.format }}`, `{{ app/component.format }}` (first port) and so on. */
export const PLACEHOLDER = /\{\{\s*([a-z0-9-]+(?:\/[a-z0-9-]+)?)(?:\.([a-z0-9-]+))?\.(host|port|address|url)\s*\}\}/g;

/**
 * Something between `{{ }}` that is written like one of our placeholders (a dotted reference of
 * lowercase names) but is not one, e.g. `{{ ruoyi-admin.http.uri }}`. Other template syntaxes a
 * config file may carry (`{{ $labels.instance }}`, `{{ .Values.x }}`) do not look like this and
 * are left alone.
 */
const PLACEHOLDER_LIKE = /\{\{\s*([a-z0-9-]+(?:\/[a-z0-9-]+)?(?:\.[a-z0-9-]+)+)\s*\}\}/g;

/** Requests above their limits (Kubernetes refuses such a pod). */
export function checkResources(component: ComponentSpec, at: string): Problem[] {
    const problems: Problem[] = [];
    for (const resource of ["cpu", "memory"] as const) {
        const request = component.resources?.requests?.[resource];
        const limit = component.resources?.limits?.[resource];
        if (request === undefined || limit === undefined) continue;
        if (parseQuantity(request)! > parseQuantity(limit)!) {
            problems.push({
                key: `${at}.resources.requests.${resource}`,
                message: `${given(request)} is more than the limit ${given(limit)}; a request must not exceed its limit (Kubernetes refuses the pod)`,
            });
        }
    }
    return problems;
}

/** Mount points that coincide once normalised (`/etc/app/./x` and `/etc/app/x`): Kubernetes refuses a pod with two. */
export function checkMountPaths(component: ComponentSpec, at: string): Problem[] {
    const problems: Problem[] = [];
    const seen = new Map<string, string>();
    const mounts: [string, string][] = [
        ...component.configFiles.map((file, index): [string, string] => [`configFiles[${index}].path`, file.path]),
        ...component.secretFiles.map((file, index): [string, string] => [`secretFiles[${index}].path`, file.path]),
    ];
    if (component.storage) mounts.push(["storage.mountPath", component.storage.mountPath]);
    component.volumes.forEach((volume, index) => mounts.push([`volumes[${index}].mountPath`, volume.mountPath]));
    for (const [field, mountPath] of mounts) {
        const normal = normalMountPath(mountPath);
        const first = seen.get(normal);
        if (first !== undefined) {
            problems.push({ key: `${at}.${field}`, message: `${given(mountPath)} is the same mount point as ${first}; each path may be mounted once` });
        } else {
            seen.set(normal, field);
        }
    }
    return problems;
}

/**
 * Volume names a component may not use: the ones we give our own volumes (`data` is `storage`'s
 * claim, `config-files` the configFiles, `envoy-config` envoy mode's bootstrap) and the prefixes of
 * the volumes Istio's and Linkerd's injectors add to the pod.
 */
export const RESERVED_VOLUME_NAMES: readonly string[] = ["data", "config-files", "envoy-config", "workload-socket", "credential-socket", "workload-certs"];
export const RESERVED_VOLUME_PREFIXES: readonly string[] = ["istio-", "istiod-", "linkerd-", "envoy-"];

/** Volume names used twice or reserved, and volumes without exactly one source. */
export function checkVolumes(component: ComponentSpec, at: string): Problem[] {
    const problems: Problem[] = [];
    const names = new Set<string>();
    component.volumes.forEach((volume, index) => {
        const key = `${at}.volumes[${index}]`;
        if (RESERVED_VOLUME_NAMES.includes(volume.name) || RESERVED_VOLUME_PREFIXES.some((prefix) => volume.name.startsWith(prefix))) {
            problems.push({
                key: `${key}.name`,
                message: `${given(volume.name)} is reserved for volumes the modes and meshes add; choose a name that is not ${RESERVED_VOLUME_NAMES.join(", ")} and starts with none of ${RESERVED_VOLUME_PREFIXES.join(", ")}`,
            });
        } else if (names.has(volume.name)) {
            problems.push({ key: `${key}.name`, message: `volume name "${volume.name}" is used twice in component "${component.name}"` });
        }
        names.add(volume.name);
        const sources = VOLUME_SOURCES.filter((source) => volume[source] !== undefined);
        if (sources.length !== 1) {
            problems.push({ key, message: `volume "${volume.name}" has ${sources.length === 0 ? "no source" : `${sources.length} sources (${sources.join(", ")})`}; give exactly one of ${VOLUME_SOURCES.join(", ")}` });
        }
    });
    return problems;
}

/** ConfigMap keys and the 1 MiB size limit of the component's config files, and placeholders written wrong. */
export function checkConfigFileLimits(component: ComponentSpec, at: string): Problem[] {
    const problems: Problem[] = [];
    let bytes = 0;
    component.configFiles.forEach((file, index) => {
        const key = configFileKey(index, file.path);
        const keyProblem = configMapKey(key);
        if (keyProblem) {
            problems.push({ key: `${at}.configFiles[${index}].path`, message: `the file name makes the ConfigMap key ${keyProblem.replace(/^.*? is not a ConfigMap key; /, "too long or invalid; ")}` });
        }
        const placeholders = [...file.content.matchAll(PLACEHOLDER)];
        const placeholderText = placeholders.reduce((sum, match) => sum + Buffer.byteLength(match[0]), 0);
        bytes += Buffer.byteLength(key) + Buffer.byteLength(file.content) - placeholderText + placeholders.length * MAX_PLACEHOLDER_EXPANSION;
        for (const match of file.content.matchAll(PLACEHOLDER_LIKE)) {
            if (new RegExp(PLACEHOLDER.source).test(match[0])) continue;
            const format = match[1]!.split(".").pop()!;
            problems.push({
                key: `${at}.configFiles[${index}].content`,
                message: `placeholder ${given(match[0])} has no known format ${given(format)}; end it in .host, .port, .address or .url, e.g. "{{ component.port.url }}"`,
            });
        }
    });
    if (bytes > MAX_CONFIG_MAP_BYTES) {
        problems.push({
            key: `${at}.configFiles`,
            message: `the files come to ${bytes} bytes (placeholders counted at ${MAX_PLACEHOLDER_EXPANSION} bytes); a ConfigMap holds at most ${MAX_CONFIG_MAP_BYTES} bytes (1 MiB), so split them or mount them another way`,
        });
    }
    return problems;
}

/** An app spec with where it came from, as stack-wide checks need it. */
interface SourcedSpec {
    spec: AppSpec;
    source: string;
}

/** Two exposed components answering the same host and path: the second route would shadow (or fight) the first. */
export function checkExposures(apps: readonly SourcedSpec[]): Problem[] {
    const problems: Problem[] = [];
    const owners = new Map<string, string>();
    for (const { spec, source } of apps) {
        spec.components.forEach((component, index) => {
            if (!component.expose) return;
            const path = component.expose.path.length > 1 ? component.expose.path.replace(/\/+$/, "") : component.expose.path;
            const route = `${component.expose.host.toLowerCase()}${path}`;
            const owner = owners.get(route);
            if (owner !== undefined) {
                problems.push({ key: `${source}: components[${index}].expose`, message: `host ${given(component.expose.host)} with path ${given(component.expose.path)} is already exposed by ${owner}; give each exposed component its own host or path` });
            } else {
                owners.set(route, `${spec.name}/${component.name}`);
            }
        });
    }
    return problems;
}

/** Two published components asking for the same node port: a node port is unique in the whole cluster. */
export function checkNodePorts(apps: readonly SourcedSpec[]): Problem[] {
    const problems: Problem[] = [];
    const owners = new Map<number, string>();
    for (const { spec, source } of apps) {
        spec.components.forEach((component, index) => {
            component.publish?.ports.forEach((port, portIndex) => {
                if (port.nodePort === undefined) return;
                const owner = owners.get(port.nodePort);
                if (owner !== undefined) {
                    problems.push({ key: `${source}: components[${index}].publish.ports[${portIndex}].nodePort`, message: `node port ${port.nodePort} is already published by ${owner}; a node port is unique in the cluster` });
                } else {
                    owners.set(port.nodePort, `${spec.name}/${component.name}`);
                }
            });
        });
    }
    return problems;
}

/** Namespaces Kubernetes itself creates and uses; an app there would take over (and could delete) them. */
export const KUBERNETES_NAMESPACES: readonly string[] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** Control plane namespaces under their usual names, refused even when this stack does not install them. */
export const MESH_NAMESPACES: readonly string[] = ["istio-system", "linkerd", "linkerd-viz", "linkerd-cni"];

/** The namespace an app runs in. */
export function namespaceOf(spec: AppSpec): string {
    return spec.namespace ?? spec.name;
}

/**
 * Namespace ownership across apps: no app in a system or control plane namespace (Kubernetes',
 * `kube-*`, and `reserved`, the stack's mesh namespaces), and a namespace several apps share is
 * created by exactly one of them (the others set `createNamespace: false`).
 */
export function checkNamespaces(apps: readonly SourcedSpec[], reserved: readonly string[]): Problem[] {
    const problems: Problem[] = [];
    const system = new Set([...KUBERNETES_NAMESPACES, ...MESH_NAMESPACES, ...reserved]);
    const creators = new Map<string, string>();
    for (const { spec, source } of apps) {
        const namespace = namespaceOf(spec);
        const key = `${source}: ${spec.namespace === undefined ? "name" : "namespace"}`;
        if (system.has(namespace) || namespace.startsWith("kube-")) {
            problems.push({
                key,
                message: `namespace ${given(namespace)} belongs to Kubernetes or a mesh control plane; apps may not use ${[...system].join(", ")} or any kube-* namespace, so choose another`,
            });
            continue;
        }
        if (!spec.createNamespace) continue;
        const creator = creators.get(namespace);
        if (creator !== undefined) {
            problems.push({
                key: `${source}: createNamespace`,
                message: `namespace ${given(namespace)} is already created by app ${given(creator)}; a shared namespace has one owner, so set createNamespace: false here`,
            });
        } else {
            creators.set(namespace, spec.name);
        }
    }
    return problems;
}

/** Namespaces used by more than one app, by name: their Namespace objects are kept when the owning app is removed. */
export function sharedNamespaces(apps: readonly SourcedSpec[]): Set<string> {
    const count = new Map<string, number>();
    for (const { spec } of apps) count.set(namespaceOf(spec), (count.get(namespaceOf(spec)) ?? 0) + 1);
    return new Set([...count].filter(([, apps]) => apps > 1).map(([namespace]) => namespace));
}

/** Kinds whose names must be DNS-1123 labels (the rest: DNS subdomains); Services must be DNS-1035 labels. */
const LABEL_NAMED_KINDS = new Set(["Namespace", "StatefulSet", "Deployment"]);

/**
 * A backstop over what we emit: the object-level limits the API server enforces (name syntax and
 * length per kind, label keys and values, 256 KiB of annotations, 1 MiB of ConfigMap data). The
 * spec checks above should keep every rendered object inside them; a finding here names the object.
 */
export function checkManifestLimits(manifest: Manifest): string[] {
    const findings: string[] = [];
    const { name, labels = {}, annotations = {} } = manifest.metadata;
    const nameRule = manifest.kind === "Service" ? dns1035Label : LABEL_NAMED_KINDS.has(manifest.kind) ? dnsLabel : dnsSubdomain;
    const nameProblem = nameRule(name);
    if (nameProblem) findings.push(`metadata.name: ${nameProblem}`);
    for (const [key, value] of Object.entries(labels)) {
        const problem = labelKey(key) ?? labelValue(value);
        if (problem) findings.push(`metadata.labels: ${problem}`);
    }
    const annotationBytes = Object.entries(annotations).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
    if (annotationBytes > MAX_ANNOTATIONS_BYTES) findings.push(`metadata.annotations: ${annotationBytes} bytes; at most ${MAX_ANNOTATIONS_BYTES} in all`);
    if (manifest.kind === "ConfigMap") {
        const data = (manifest.data ?? {}) as Record<string, string>;
        const bytes = Object.entries(data).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
        if (bytes > MAX_CONFIG_MAP_BYTES) findings.push(`data: ${bytes} bytes; a ConfigMap holds at most ${MAX_CONFIG_MAP_BYTES}`);
    }
    return findings;
}
