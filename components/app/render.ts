import { configFileKey, secretReferences, type SecretSource, shortHash, kubeName, publicServiceName, type VolumeSpec, type Protocol, type ExtraObject, type Manifest, findPlaceholderDependency, findPlaceholderExternal, formatAddress, type EnvBinding, PLACEHOLDER, type Address, type AppModel, type ComponentModel, type AddressFormat, type WorkloadModel, VERSION_LABEL, runsToCompletion, podSecurityLabels, type PodSecurityLevel } from "../model";
import { modeNamed, networkPolicies, type ComponentDecoration, type Platform } from "../modes";
import { SECURITY_EXEMPTION_ANNOTATION } from "../../policy/contract";
import { autoscalerManifest, containerProbes, disruptionBudgetManifest, graceField, replicasField, runToCompletionObject } from "./workloads";

/**
 * Turns an app model plus its mode's decorations into plain Kubernetes manifests. Pure: GovernedApp
 * registers the result, the offline render writes it, and the benchmark's baseline reuses it.
 *
 * Everything that identifies a workload (names, selectors, Service specs, volume claim templates)
 * is computed from the neutral model only; the mode touches pod templates and extra objects.
 */

/** Pod annotation naming the mode, so every mode switch rolls the pods even when nothing else changed. */
export const MODE_ANNOTATION = "pluggable-mesh.io/mode";
/** Pod annotation with a hash of the mounted config files, so a change rolls the pods. */
export const FILES_HASH_ANNOTATION = "pluggable-mesh.io/config-files-hash";
const MANAGED_BY = { "app.kubernetes.io/managed-by": "pluggable-mesh" };
/** Every pod, exempt or not: the container runtime's default seccomp filter. */
const RUNTIME_DEFAULT_SECCOMP = { seccompProfile: { type: "RuntimeDefault" } };
/** The app container under the restricted Pod Security Standard (the pod adds runAsNonRoot). */
const RESTRICTED_CONTAINER = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/**
 * What a Secret built from named secret values holds in place of each value in a plain render: the
 * values never pass through the pure layer, GovernedApp fills them in as Pulumi secrets.
 */
export const SECRET_VALUE_PLACEHOLDER = "(a Pulumi secret, set at deployment)";

/**
 * The app container's security context: restricted (no privilege escalation, every capability
 * dropped) unless the component says why not, with the component's own user, group, read-only
 * root and added capabilities on top (planning refused root or extra capabilities without an exemption).
 */
function containerSecurity(spec: ComponentModel["spec"]): { securityContext?: Record<string, unknown> } {
    const own = spec.securityContext ?? {};
    const add = own.capabilities?.add ?? [];
    const context: Record<string, unknown> = {
        ...(spec.securityExemption ? {} : RESTRICTED_CONTAINER),
        ...(own.runAsUser === undefined ? {} : { runAsUser: own.runAsUser }),
        ...(own.runAsGroup === undefined ? {} : { runAsGroup: own.runAsGroup }),
        ...(own.readOnlyRootFilesystem === undefined ? {} : { readOnlyRootFilesystem: own.readOnlyRootFilesystem }),
    };
    if (add.length > 0) context.capabilities = { ...(spec.securityExemption ? {} : RESTRICTED_CONTAINER.capabilities), add };
    return Object.keys(context).length > 0 ? { securityContext: context } : {};
}

/** A manifest with the stable key its Pulumi resource is named by. */
export interface RenderedObject {
    /** Unique per kind across the stack, stable across modes and content changes (a Job's carries its definition's hash: docs/workloads.md). */
    name: string;
    manifest: Manifest;
    /** For a Secret of named secret values: the names whose values the registrar puts in `stringData` (as Pulumi secrets). */
    secretValues?: string[];
    /** Fields Pulumi leaves as they are on an update (a Job's pod template, which a mode switch changes: docs/workloads.md). */
    ignoreChanges?: string[];
}

export interface RenderedApp {
    objects: RenderedObject[];
    warnings: string[];
}

const APP_PROTOCOL: Record<Protocol, string> = { http: "http", http2: "kubernetes.io/h2c", grpc: "grpc", tcp: "tcp" };

/** How the mode reaches the component's dependencies and externals, each list in the model's order. */
type Reach = Pick<ComponentDecoration, "addresses" | "externalAddresses">;

/** Resolves `{{ dep.port.format }}` placeholders with the addresses the mode gives the component. */
export function resolvePlaceholders(content: string, component: ComponentModel, reach: Reach): string {
    return content.replace(PLACEHOLDER, (_match, ref: string, port: string | undefined, format: AddressFormat) => {
        const dependency = findPlaceholderDependency(component.dependencies, component.app, ref, port);
        if (dependency) return formatAddress(reach.addresses[component.dependencies.indexOf(dependency)]!, format);
        const external = findPlaceholderExternal(component.externalDependencies, ref, port)!;
        return formatAddress(reach.externalAddresses[component.externalDependencies.indexOf(external)]!, format);
    });
}

function dependencyEnv(component: ComponentModel, reach: Reach): { name: string; value: string }[] {
    const env = (bindings: readonly EnvBinding[], address: Address) => bindings.map((binding) => ({ name: binding.name, value: formatAddress(address, binding.format) }));
    return [
        ...component.dependencies.flatMap((dependency, index) => env(dependency.env, reach.addresses[index]!)),
        ...component.externalDependencies.flatMap((dependency, index) => env(dependency.env, reach.externalAddresses[index]!)),
    ];
}

/** The Secret holding a component's named secret values (`{ secret: <name> }`); the same in every mode. */
export function componentSecretName(component: ComponentModel): string {
    return kubeName(component.serviceName, "secrets");
}

/** A secret source as Kubernetes references it: a key of the component's own Secret, or of an existing one. */
function secretKey(component: ComponentModel, source: SecretSource): { name: string; key: string } {
    return source.secretKeyRef ?? { name: componentSecretName(component), key: source.secret! };
}

function appEnv(component: ComponentModel, env: WorkloadModel["env"]): Record<string, unknown>[] {
    return Object.entries(env).map(([name, value]) => (typeof value === "string" ? { name, value } : { name, valueFrom: { secretKeyRef: secretKey(component, value) } }));
}

/**
 * Secret files: one volume per Secret they come from (the component's own, or an existing one),
 * each file mounted alone by subPath. The component's own Secret, with placeholders for the values.
 */
function secretFiles(component: ComponentModel, labels: Record<string, string>): { volumes: Record<string, unknown>[]; mounts: Record<string, unknown>[]; objects: RenderedObject[] } {
    const volumes = new Map<string, { name: string; secret: { secretName: string; items: { key: string; path: string }[] } }>();
    const mounts = component.spec.secretFiles.map((file, index) => {
        const { name: secretName, key } = secretKey(component, file);
        const volume = volumes.get(secretName) ?? { name: `secret-files-${volumes.size}`, secret: { secretName, items: [] } };
        volumes.set(secretName, volume);
        const itemPath = configFileKey(index, file.path);
        volume.secret.items.push({ key, path: itemPath });
        return { name: volume.name, mountPath: file.path, subPath: itemPath, readOnly: true };
    });
    const names = [...new Set(secretReferences(component.spec).map((reference) => reference.name))].sort();
    const objects: RenderedObject[] =
        names.length === 0
            ? []
            : [
                  {
                      name: `${component.app}-${component.component}-secrets`,
                      manifest: {
                          apiVersion: "v1",
                          kind: "Secret",
                          metadata: { name: componentSecretName(component), namespace: component.namespace, labels },
                          type: "Opaque",
                          stringData: Object.fromEntries(names.map((name) => [name, SECRET_VALUE_PLACEHOLDER])),
                      },
                      secretValues: names,
                  },
              ];
    return { volumes: [...volumes.values()], mounts, objects };
}

function serviceManifest(component: ComponentModel, name: string, selector: Record<string, string>, labels: Record<string, string>, annotations: Record<string, string>, headless: boolean): Manifest {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace: component.namespace, labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        spec: {
            ...(headless ? { clusterIP: "None" } : { type: "ClusterIP" }),
            selector,
            ports: component.ports.map((port) => ({
                name: port.servicePortName,
                port: port.port,
                // A named target: each pod resolves it to the app or to its sidecar, so the Service is the same in every mode.
                targetPort: port.name,
                protocol: "TCP",
                appProtocol: APP_PROTOCOL[port.protocol],
            })),
        },
    };
}

/** The pod template's pieces that every workload of the component shares. */
interface SharedPod {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    volumes: Record<string, unknown>[];
    volumeMounts: Record<string, unknown>[];
}

/** The pod volume of one spec volume; claims are volumeClaimTemplates instead (the StatefulSet adds their pod volumes). */
function podVolume(volume: VolumeSpec): Record<string, unknown> | undefined {
    if (volume.emptyDir) return { name: volume.name, emptyDir: { ...(volume.emptyDir.memory ? { medium: "Memory" } : {}), sizeLimit: volume.emptyDir.sizeLimit } };
    if (volume.configMap) return { name: volume.name, configMap: { name: volume.configMap.name, ...(volume.configMap.items ? { items: volume.configMap.items } : {}) } };
    return undefined;
}

/** A claim template: `storage`'s (named data) and each claim volume's, in the same shape. */
function claimTemplate(name: string, size: string, storageClass: string | undefined, accessMode = "ReadWriteOnce"): Record<string, unknown> {
    return {
        metadata: { name },
        spec: { accessModes: [accessMode], resources: { requests: { storage: size } }, ...(storageClass ? { storageClassName: storageClass } : {}) },
    };
}

/**
 * The component's claim templates: storage's (data) first and unchanged, so existing StatefulSets
 * keep their volumeClaimTemplates (a change replaces them), then each claim volume's.
 */
function claimTemplates(spec: ComponentModel["spec"]): Record<string, unknown>[] {
    return [
        ...(spec.storage ? [claimTemplate("data", spec.storage.size, spec.storage.storageClass)] : []),
        ...spec.volumes.flatMap((volume) => (volume.claim ? [claimTemplate(volume.name, volume.claim.size, volume.claim.storageClass, volume.claim.accessMode)] : [])),
    ];
}

/**
 * The Service that publishes ports without a host name: its own object (`<name>-public`), so the
 * main Service never changes; named target ports, so it is the same in every mode.
 */
function publicServiceManifest(component: ComponentModel, labels: Record<string, string>): Manifest[] {
    const publish = component.spec.publish;
    if (!publish) return [];
    return [
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: publicServiceName(component.component), namespace: component.namespace, labels },
            spec: {
                type: publish.type,
                selector: component.selectorLabels,
                ports: publish.ports.map((published) => {
                    const port = component.ports.find((candidate) => candidate.name === published.port)!;
                    return {
                        name: port.servicePortName,
                        port: port.port,
                        targetPort: port.name,
                        protocol: "TCP",
                        appProtocol: APP_PROTOCOL[port.protocol],
                        ...(published.nodePort === undefined ? {} : { nodePort: published.nodePort }),
                    };
                }),
                ...(publish.sourceRanges ? { loadBalancerSourceRanges: publish.sourceRanges } : {}),
            },
        },
    ];
}

function renderComponent(component: ComponentModel, app: AppModel, decoration: ComponentDecoration): RenderedObject[] {
    const spec = component.spec;
    const labels = { ...component.selectorLabels, "app.kubernetes.io/part-of": app.name, ...MANAGED_BY };
    const namespace = component.namespace;
    const prefix = `${app.name}-${component.component}`;
    const objects: RenderedObject[] = [
        {
            name: prefix,
            manifest: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: component.serviceAccountName, namespace, labels }, automountServiceAccountToken: false },
        },
    ];
    if (component.ports.length > 0) {
        objects.push({ name: prefix, manifest: serviceManifest(component, component.serviceName, component.selectorLabels, labels, decoration.serviceAnnotations, false) });
        objects.push({ name: `${prefix}-headless`, manifest: serviceManifest(component, component.headlessServiceName, component.selectorLabels, labels, {}, true) });
        objects.push(...publicServiceManifest(component, labels).map((manifest) => ({ name: `${prefix}-public`, manifest })));
        // One per version, in every mode (a Service never comes and goes with a mode switch): the targets of weighted splits.
        for (const workload of component.workloads) {
            if (workload.headlessServiceName) {
                objects.push({
                    name: `${prefix}${workload.keySuffix}-headless`,
                    manifest: serviceManifest(component, workload.headlessServiceName, workload.selectorLabels, { ...labels, ...workload.selectorLabels }, {}, true),
                });
            }
        }
    }

    const shared: SharedPod = { labels, annotations: { [MODE_ANNOTATION]: app.mode, ...decoration.pod.annotations }, volumes: [], volumeMounts: [] };
    if (spec.configFiles.length > 0) {
        const data: Record<string, string> = {};
        spec.configFiles.forEach((file, index) => {
            const key = configFileKey(index, file.path);
            data[key] = resolvePlaceholders(file.content, component, decoration);
            shared.volumeMounts.push({ name: "config-files", mountPath: file.path, subPath: key, readOnly: true });
        });
        const hash = shortHash(JSON.stringify(data), 10);
        shared.annotations[FILES_HASH_ANNOTATION] = hash;
        objects.push({
            name: `${prefix}-files`,
            manifest: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: kubeName(component.serviceName, "files", hash), namespace, labels }, immutable: true, data },
        });
        shared.volumes.push({ name: "config-files", configMap: { name: kubeName(component.serviceName, "files", hash) } });
    }
    const secrets = secretFiles(component, labels);
    objects.push(...secrets.objects);
    shared.volumes.push(...secrets.volumes);
    shared.volumeMounts.push(...secrets.mounts);
    if (spec.storage) {
        shared.volumeMounts.push({ name: "data", mountPath: spec.storage.mountPath });
    }
    for (const volume of spec.volumes) {
        const podVolumeOf = podVolume(volume);
        if (podVolumeOf) shared.volumes.push(podVolumeOf);
        shared.volumeMounts.push({ name: volume.name, mountPath: volume.mountPath, ...(volume.configMap ? { readOnly: true } : {}) });
    }
    for (const workload of component.workloads) {
        const manifest = workloadManifest(component, workload, decoration, shared);
        if (runsToCompletion(component.spec)) {
            objects.push(runToCompletionObject(component, prefix, manifest.metadata, manifest.spec as { template: Record<string, unknown> }));
            continue;
        }
        objects.push({ name: `${prefix}${workload.keySuffix}`, manifest });
        objects.push(...autoscalerManifest(component, workload, manifest.kind, labels).map((hpa) => ({ name: `${prefix}${workload.keySuffix}`, manifest: hpa })));
    }
    objects.push(...disruptionBudgetManifest(component, labels).map((manifest) => ({ name: prefix, manifest })));
    return objects;
}

/** The Deployment (or StatefulSet, with storage or claim volumes) of one workload of the component. */
function workloadManifest(component: ComponentModel, workload: WorkloadModel, decoration: ComponentDecoration, shared: SharedPod): Manifest {
    const spec = component.spec;
    const { volumes, volumeMounts } = shared;
    const container: Record<string, unknown> = {
        name: component.component,
        image: workload.image,
        ...(spec.command ? { command: spec.command } : {}),
        ...(spec.args ? { args: spec.args } : {}),
        ports: component.ports.map((port) =>
            decoration.pod.sidecarServesPorts ? { containerPort: port.targetPort, protocol: "TCP" } : { name: port.name, containerPort: port.targetPort, protocol: "TCP" },
        ),
        env: [...appEnv(component, workload.env), ...dependencyEnv(component, decoration)],
        ...(spec.resources ? { resources: spec.resources } : {}),
        ...containerProbes(component),
        ...(volumeMounts.length > 0 ? { volumeMounts } : {}),
        // Restricted unless the component says why not (spec.securityExemption); the policy pack checks it.
        ...containerSecurity(spec),
    };
    const podSpec = {
        serviceAccountName: component.serviceAccountName,
        automountServiceAccountToken: false,
        securityContext: {
            ...(spec.securityExemption ? {} : { runAsNonRoot: true }),
            ...RUNTIME_DEFAULT_SECCOMP,
            ...(spec.securityContext?.fsGroup === undefined ? {} : { fsGroup: spec.securityContext.fsGroup }),
        },
        ...graceField(component),
        ...(spec.job ? { restartPolicy: spec.job.restartPolicy } : {}),
        ...(decoration.pod.sidecars.length > 0 ? { initContainers: decoration.pod.sidecars } : {}),
        containers: [container],
        ...(volumes.length + decoration.pod.volumes.length > 0 ? { volumes: [...volumes, ...decoration.pod.volumes] } : {}),
    };
    const versionLabel = decoration.pod.versionLabel;
    const template = {
        metadata: {
            labels: { ...shared.labels, [VERSION_LABEL]: workload.version, ...decoration.pod.labels, ...(versionLabel ? { [versionLabel]: workload.version } : {}) },
            annotations: shared.annotations,
        },
        spec: podSpec,
    };
    const workloadMetadata = {
        name: workload.name,
        namespace: component.namespace,
        labels: { ...shared.labels, ...workload.selectorLabels },
        ...(spec.securityExemption ? { annotations: { [SECURITY_EXEMPTION_ANNOTATION]: spec.securityExemption } } : {}),
    };
    const claims = claimTemplates(spec);
    if (claims.length > 0) {
        return {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: workloadMetadata,
            spec: {
                ...replicasField(component, workload),
                serviceName: component.headlessServiceName,
                selector: { matchLabels: workload.selectorLabels },
                template,
                volumeClaimTemplates: claims,
            },
        };
    }
    return { apiVersion: "apps/v1", kind: "Deployment", metadata: workloadMetadata, spec: { ...replicasField(component, workload), selector: { matchLabels: workload.selectorLabels }, template } };
}

function withAppPrefix(app: AppModel, objects: readonly ExtraObject[]): RenderedObject[] {
    return objects.map((object) => ({ name: `${app.name}-${object.key}`, manifest: object.manifest }));
}

/** Namespace annotation saying why the namespace enforces the level it does. */
export const POD_SECURITY_REASON_ANNOTATION = "pluggable-mesh.io/pod-security-reason";

/** The levels on the app's namespace: `auto` enforces what the app's pods need (planning refused a fixed level they would not pass). */
function podSecurityLevels(app: AppModel, platform: Platform): { enforce: PodSecurityLevel; warn: PodSecurityLevel; audit: PodSecurityLevel } {
    const { enforce, warn, audit } = platform.podSecurity;
    return { enforce: enforce === "auto" ? app.podSecurity.level : enforce, warn, audit };
}

/** Renders one app in its mode. */
export function renderApp(app: AppModel, platform: Platform): RenderedApp {
    const mode = modeNamed(app.mode);
    const appDecoration = mode.decorateApp(app, platform);
    const objects: RenderedObject[] = [];
    const warnings = [...app.warnings, ...appDecoration.warnings];
    if (app.createNamespace) {
        objects.push({
            name: app.name,
            manifest: {
                apiVersion: "v1",
                kind: "Namespace",
                metadata: {
                    name: app.namespace,
                    labels: { ...MANAGED_BY, ...appDecoration.namespaceLabels, ...podSecurityLabels(podSecurityLevels(app, platform)) },
                    annotations: { ...appDecoration.namespaceAnnotations, [POD_SECURITY_REASON_ANNOTATION]: app.podSecurity.reason },
                },
            },
        });
    }
    objects.push(...withAppPrefix(app, appDecoration.objects));
    for (const component of app.components) {
        const decoration = mode.decorateComponent(component, app, platform);
        objects.push(...renderComponent(component, app, decoration), ...withAppPrefix(app, decoration.objects));
        warnings.push(...decoration.warnings);
    }
    objects.push(...withAppPrefix(app, networkPolicies(app, platform)));
    return { objects, warnings };
}
