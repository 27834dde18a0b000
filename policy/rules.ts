import { EXPOSURE_ANNOTATION, PERMISSIVE_REASON_ANNOTATION, SECURITY_EXEMPTION_ANNOTATION } from "./contract";
import { annotationsOf, checkContainers, clip, containersOf, describe, isKind, labelsOf, podTemplateOf, selects, type Container, type KubeResource, type PodTemplate, type Props } from "./kubernetes";

/**
 * The rules of the pack as plain functions: a resource (or the whole stack) and the rule's config
 * in, violation messages out. `policies.ts` wraps them for CrossGuard; tests call them directly.
 * Each message names the object, says what is wrong and what to do; none echoes a value that could
 * be a secret.
 */

export type EnforcementLevel = "advisory" | "mandatory" | "disabled";

/** A JSON-schema property of a rule's config (the subset CrossGuard's config schemas use here). */
export interface ConfigProperty {
    type: "boolean" | "string" | "array";
    items?: { type: "string" };
    default: unknown;
    description: string;
}

interface RuleBase<Config> {
    name: string;
    description: string;
    /** What to do about a violation, for the engine's output and the docs. */
    remediation: string;
    /** The level when the stack's policy config does not choose one. */
    enforcementLevel: EnforcementLevel;
    config: { [K in keyof Config]: ConfigProperty };
}

export interface ResourceRule<Config = {}> extends RuleBase<Config> {
    checkResource(resource: KubeResource, config: Config): string[];
}

export interface StackViolation {
    message: string;
    urn?: string;
}

export interface StackRule<Config = {}> extends RuleBase<Config> {
    checkStack(resources: readonly KubeResource[], config: Config): StackViolation[];
}

/** The config a rule sees: its schema's defaults under what the stack's policy config sets. */
export function withDefaults<Config>(rule: ResourceRule<Config> | StackRule<Config>, given: Partial<Config> = {}): Config {
    const defaults = Object.fromEntries(Object.entries(rule.config).map(([key, property]) => [key, (property as ConfigProperty).default]));
    return { ...defaults, ...given } as Config;
}

/** The pod template of a workload resource, or undefined for other kinds. */
function workload(resource: KubeResource): PodTemplate | undefined {
    return podTemplateOf(resource.type, resource.props);
}

function containerLabel(container: Container): string {
    return `${container.init ? "init container" : "container"} "${container.name}"`;
}

// ---------------------------------------------------------------------------------------------
// Workloads: resources, security profile, images, secrets in env.

export const workloadResources: ResourceRule = {
    name: "workload-resources",
    description: "Every container of a workload requests CPU and memory and has a memory limit.",
    remediation:
        "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container (init containers and native sidecars included): the scheduler places pods by their requests, and a memory limit keeps one leaking pod from starving its node.",
    enforcementLevel: "mandatory",
    config: {},
    checkResource({ type, props }) {
        return checkContainers(type, props, (container) => {
            const missing = [
                container.resources?.requests?.cpu === undefined ? "resources.requests.cpu" : undefined,
                container.resources?.requests?.memory === undefined ? "resources.requests.memory" : undefined,
                container.resources?.limits?.memory === undefined ? "resources.limits.memory" : undefined,
            ].filter((field): field is string => field !== undefined);
            return missing.length === 0 ? [] : [`${describe(type, props)}: ${containerLabel(container)} has no ${missing.join(", ")}; set requests for cpu and memory and a memory limit`];
        });
    },
};

/** Volume types the restricted Pod Security Standard allows. */
const RESTRICTED_VOLUME_TYPES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const SECCOMP_TYPES = new Set(["RuntimeDefault", "Localhost"]);

/** What keeps one container from the restricted profile, as short phrases. */
function restrictedGaps(container: Container, pod: Props): string[] {
    const own = container.securityContext ?? {};
    const podContext = pod.securityContext ?? {};
    const gaps: string[] = [];
    if (own.privileged === true) gaps.push("runs privileged");
    if (own.allowPrivilegeEscalation !== false) gaps.push("securityContext.allowPrivilegeEscalation is not false");
    if ((own.runAsNonRoot ?? podContext.runAsNonRoot) !== true) gaps.push("runAsNonRoot is not true");
    if ((own.runAsUser ?? podContext.runAsUser) === 0) gaps.push("runAsUser is 0 (root)");
    if (!SECCOMP_TYPES.has((own.seccompProfile ?? podContext.seccompProfile)?.type)) gaps.push("seccompProfile.type is not RuntimeDefault or Localhost");
    const capabilities = own.capabilities ?? {};
    if (!(Array.isArray(capabilities.drop) && capabilities.drop.includes("ALL"))) gaps.push('capabilities.drop does not include "ALL"');
    const added = (Array.isArray(capabilities.add) ? capabilities.add : []).filter((capability: string) => capability !== "NET_BIND_SERVICE");
    if (added.length > 0) gaps.push(`adds capabilities ${added.join(", ")}`);
    if ((container.ports ?? []).some((port) => port.hostPort !== undefined && port.hostPort !== 0)) gaps.push("uses a hostPort");
    return gaps;
}

export function securityExemption(template: PodTemplate, props: Props): string | undefined {
    const reason = annotationsOf(props)[SECURITY_EXEMPTION_ANNOTATION] ?? template.annotations[SECURITY_EXEMPTION_ANNOTATION];
    return typeof reason === "string" && reason.trim().length > 0 ? reason.trim() : undefined;
}

export const workloadSecurityProfile: ResourceRule = {
    name: "workload-security-profile",
    description: "Every workload runs under the restricted Pod Security Standard, unless it says why not.",
    remediation: `Run as non-root with allowPrivilegeEscalation: false, capabilities.drop: ["ALL"] and seccompProfile.type: RuntimeDefault, without host namespaces, host ports or hostPath volumes; where the image cannot (it must start as root), annotate the workload with ${SECURITY_EXEMPTION_ANNOTATION}: <why>.`,
    enforcementLevel: "mandatory",
    config: {},
    checkResource({ type, props }) {
        const template = podTemplateOf(type, props);
        if (!template || securityExemption(template, props) !== undefined) return [];
        const pod = template.spec;
        const what = describe(type, props);
        const podGaps = [
            ...(["hostNetwork", "hostPID", "hostIPC"] as const).filter((field) => pod[field] === true).map((field) => `${field} is true`),
            ...(Array.isArray(pod.volumes) ? pod.volumes : [])
                .filter((volume: Props) => !Object.keys(volume).some((key) => RESTRICTED_VOLUME_TYPES.has(key)))
                .map((volume: Props) => `volume "${volume.name}" is of type ${Object.keys(volume).filter((key) => key !== "name").join(", ") || "(none)"}`),
        ];
        const messages = podGaps.length > 0 ? [`${what}: the pod ${podGaps.join("; ")}`] : [];
        for (const container of containersOf(pod)) {
            const gaps = restrictedGaps(container, pod);
            if (gaps.length > 0) messages.push(`${what}: ${containerLabel(container)}: ${gaps.join("; ")}`);
        }
        return messages.map((message) => `${message}; meet the restricted Pod Security Standard or annotate the workload with ${SECURITY_EXEMPTION_ANNOTATION}: <why>`);
    },
};

/** Istio's placeholder image for injected gateways: the injector replaces it with its own proxy image. */
function isIstioInjectedPlaceholder(container: Container, template: PodTemplate): boolean {
    return container.image === "auto" && (template.labels["sidecar.istio.io/inject"] === "true" || template.annotations["sidecar.istio.io/inject"] === "true");
}

/** Why an image reference is not pinned, or undefined when it is (a digest, or a tag other than latest). */
export function unpinnedBecause(image: string): string | undefined {
    if (/@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/.test(image)) return undefined;
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    if (colon < 0) return "has no tag (it means latest)";
    const tag = lastSegment.slice(colon + 1);
    if (tag === "latest") return "is tagged latest";
    return undefined;
}

export const imagePinned: ResourceRule = {
    name: "image-pinned",
    description: "Every container image is pinned: a tag other than latest, or a digest.",
    remediation: "Use an exact tag (nginx:1.27.3) or a digest (nginx@sha256:...): an unpinned image changes under a running app at the next pull and makes a rollback pull the same new image.",
    enforcementLevel: "mandatory",
    config: {},
    checkResource({ type, props }) {
        return checkContainers(type, props, (container, template) => {
            if (typeof container.image !== "string" || isIstioInjectedPlaceholder(container, template)) return [];
            const because = unpinnedBecause(container.image);
            return because ? [`${describe(type, props)}: ${containerLabel(container)} image "${clip(container.image)}" ${because}; pin a tag other than latest or a digest`] : [];
        });
    },
};

/** Names that look like they hold a secret. */
const SECRET_NAME = /PASSWORD|PASSWD|TOKEN|SECRET|KEY/i;
/** Values that are switches, not secrets (MYSQL_ALLOW_EMPTY_PASSWORD: "yes"). */
const SWITCH_VALUE = /^(yes|no|true|false|on|off|y|n|0|1)$/i;

export const noPlaintextSecretEnv: ResourceRule<{ allowedNames: string[] }> = {
    name: "no-plaintext-secret-env",
    description: "No plain-text value in an env var whose name looks like a secret (*PASSWORD*, *TOKEN*, *SECRET*, *KEY*).",
    remediation:
        "Put the value in a Kubernetes Secret and reference it with env[].valueFrom.secretKeyRef (or mount it and pass its path in a *_FILE variable): a plain value is stored in the workload object, the Pulumi state and every rendered manifest, where anyone who can read them reads the secret.",
    enforcementLevel: "mandatory",
    config: {
        allowedNames: {
            type: "array",
            items: { type: "string" },
            default: [],
            description: "Env var names that match the pattern but hold no secret (for example CACHE_KEY_PREFIX).",
        },
    },
    checkResource({ type, props }, { allowedNames }) {
        return checkContainers(type, props, (container) =>
            (container.env ?? [])
                .filter((entry) => SECRET_NAME.test(entry.name) && !entry.name.toUpperCase().endsWith("_FILE") && !allowedNames.includes(entry.name))
                .filter((entry) => typeof entry.value === "string" && entry.value.length > 0 && !SWITCH_VALUE.test(entry.value))
                .map((entry) => `${describe(type, props)}: ${containerLabel(container)} sets ${entry.name} to a plain-text value; take it from a Secret with valueFrom.secretKeyRef`),
        );
    },
};

// ---------------------------------------------------------------------------------------------
// Exposure.

export const loadBalancerNeedsExposure: ResourceRule<{ allowedServices: string[] }> = {
    name: "loadbalancer-needs-exposure",
    description: "A Service of type LoadBalancer exists only where exposure asked for it.",
    remediation: `Use ClusterIP (reach it through an ingress or gateway) or, where the exposure is intended, annotate the Service with ${EXPOSURE_ANNOTATION}: <the setting that asked for it>, or list it in this policy's allowedServices.`,
    enforcementLevel: "mandatory",
    config: {
        allowedServices: { type: "array", items: { type: "string" }, default: [], description: "Services (namespace/name) allowed to be of type LoadBalancer." },
    },
    checkResource({ type, props }, { allowedServices }) {
        if (!isKind(type, "", "Service") || props.spec?.type !== "LoadBalancer") return [];
        const asked = annotationsOf(props)[EXPOSURE_ANNOTATION];
        if ((typeof asked === "string" && asked.trim().length > 0) || allowedServices.includes(`${props.metadata?.namespace ?? "default"}/${props.metadata?.name}`)) return [];
        return [`${describe(type, props)} is of type LoadBalancer but nothing asked for its exposure; use ClusterIP, or annotate it with ${EXPOSURE_ANNOTATION} naming the setting that asked for it`];
    },
};

// ---------------------------------------------------------------------------------------------
// Production: mTLS everywhere, nothing left open.

export const productionNoMtlsDisable: ResourceRule = {
    name: "production-no-mtls-disable",
    description: "No PeerAuthentication turns mTLS off (mode DISABLE, for the workload or a port).",
    remediation: "Remove the DISABLE mode: use STRICT, or PERMISSIVE with the callers outside the mesh named, while they move into it.",
    enforcementLevel: "advisory",
    config: {},
    checkResource({ type, props }) {
        if (!isPeerAuthentication(type)) return [];
        const ports = Object.entries((props.spec?.portLevelMtls ?? {}) as Record<string, { mode?: string }>)
            .filter(([, setting]) => setting?.mode === "DISABLE")
            .map(([port]) => port);
        const messages = props.spec?.mtls?.mode === "DISABLE" ? [`${describe(type, props)} sets mtls.mode DISABLE: traffic to its workloads is plaintext; use STRICT`] : [];
        if (ports.length > 0) messages.push(`${describe(type, props)} sets portLevelMtls DISABLE on port(s) ${ports.join(", ")}: that traffic is plaintext; use STRICT`);
        return messages;
    },
};

function isPeerAuthentication(type: string): boolean {
    return isKind(type, "security.istio.io", "PeerAuthentication");
}

export const productionNoAllowAll: ResourceRule = {
    name: "production-no-allow-all",
    description: "No AuthorizationPolicy allows every caller (an ALLOW rule that matches everything).",
    remediation: "Name the callers in each rule's from.source (principals or namespaces) and the ports in to.operation: an empty rule ({}) matches every request and turns the policy into allow-all.",
    enforcementLevel: "advisory",
    config: {},
    checkResource({ type, props }) {
        if (!isKind(type, "security.istio.io", "AuthorizationPolicy")) return [];
        const action = props.spec?.action ?? "ALLOW";
        const rules: Props[] = Array.isArray(props.spec?.rules) ? props.spec.rules : [];
        const matchesAll = (rule: Props) => ["from", "to", "when"].every((key) => rule?.[key] === undefined || (Array.isArray(rule[key]) && rule[key].length === 0));
        if (action !== "ALLOW" || !rules.some(matchesAll)) return [];
        return [`${describe(type, props)} is an ALLOW policy with a rule that matches every request (allow-all); name the callers in from.source and the ports in to.operation`];
    },
};

/** How a workload is meshed, judged from its pod template and its namespace (when the stack has it). */
export interface MeshMembership {
    istio: "sidecar" | "ambient" | undefined;
    linkerd: boolean;
}

const ISTIO_INJECT = "sidecar.istio.io/inject";

export function meshMembership(template: PodTemplate, namespace: Props | undefined, meshedNamespaces: readonly string[], namespaceName: string): MeshMembership {
    const namespaceLabels = namespace ? labelsOf(namespace) : {};
    const namespaceAnnotations = namespace ? annotationsOf(namespace) : {};
    const podInject = template.labels[ISTIO_INJECT] ?? template.annotations[ISTIO_INJECT];
    const namespaceInjects = namespaceLabels["istio-injection"] === "enabled" || (namespaceLabels["istio.io/rev"] !== undefined && namespaceLabels["istio-injection"] !== "disabled");
    const sidecar = podInject === "true" || (podInject !== "false" && (template.labels["istio.io/rev"] !== undefined || namespaceInjects));
    const ambient = (template.labels["istio.io/dataplane-mode"] ?? namespaceLabels["istio.io/dataplane-mode"]) === "ambient";
    const linkerdInject = template.annotations["linkerd.io/inject"] ?? namespaceAnnotations["linkerd.io/inject"];
    const linkerd = linkerdInject === "enabled" || linkerdInject === "ingress";
    const declared = meshedNamespaces.includes(namespaceName);
    return { istio: sidecar ? "sidecar" : ambient ? "ambient" : declared ? "sidecar" : undefined, linkerd };
}

interface Workload {
    resource: KubeResource;
    template: PodTemplate;
    namespace: string;
}

function workloadsOf(resources: readonly KubeResource[]): Workload[] {
    return resources.flatMap((resource) => {
        const template = workload(resource);
        return template ? [{ resource, template, namespace: resource.props.metadata?.namespace ?? "default" }] : [];
    });
}

function namespacesOf(resources: readonly KubeResource[]): Map<string, Props> {
    return new Map(resources.filter((resource) => isKind(resource.type, "", "Namespace")).map((resource) => [resource.props.metadata?.name as string, resource.props]));
}

/** The PeerAuthentication that decides a workload's mTLS mode: workload selector, then namespace-wide, then mesh-wide. */
function governingPeerAuthentication(workload: Workload, peerAuthentications: readonly KubeResource[], rootNamespace: string): KubeResource | undefined {
    const inNamespace = (namespace: string) => peerAuthentications.filter((pa) => (pa.props.metadata?.namespace ?? "default") === namespace);
    const decides = (pa: KubeResource) => pa.props.spec?.mtls?.mode !== undefined && pa.props.spec.mtls.mode !== "UNSET";
    const own = inNamespace(workload.namespace).filter(decides);
    const hasSelector = (pa: KubeResource) => Object.keys(pa.props.spec?.selector?.matchLabels ?? {}).length > 0;
    return (
        own.find((pa) => hasSelector(pa) && selects(pa.props.spec.selector.matchLabels, workload.template.labels)) ??
        own.find((pa) => !hasSelector(pa)) ??
        inNamespace(rootNamespace).filter(decides).find((pa) => !hasSelector(pa))
    );
}

/** Linkerd default inbound policies that refuse callers without a mesh identity (Linkerd's Authorization Policy reference). */
const LINKERD_REJECTS_PLAINTEXT: readonly string[] = ["all-authenticated", "cluster-authenticated", "deny"];

export const productionMtls: StackRule<{ exemptNamespaces: string[]; meshedNamespaces: string[]; istioRootNamespace: string; meshWideStrict: boolean }> = {
    name: "production-mtls",
    description: "Every workload runs in a mesh with mTLS (Istio sidecar or ambient, or Linkerd), STRICT where all callers are meshed.",
    remediation: `Run the app in mode istio or linkerd (injection on the pod or its namespace). For Istio, a PeerAuthentication with mtls.mode STRICT must govern it; PERMISSIVE is accepted only with ${PERMISSIVE_REASON_ANNOTATION} naming the callers outside the mesh. For Linkerd, set config.linkerd.io/default-inbound-policy to all-authenticated, cluster-authenticated or deny.`,
    enforcementLevel: "advisory",
    config: {
        exemptNamespaces: {
            type: "array",
            items: { type: "string" },
            default: ["kube-system", "kube-public", "kube-node-lease", "istio-system", "linkerd", "linkerd-viz"],
            description: "Namespaces of the platform itself (control planes, their add-ons), not held to this rule.",
        },
        meshedNamespaces: { type: "array", items: { type: "string" }, default: [], description: "Namespaces outside the stack whose injection is on (declared, since the pack cannot see them)." },
        istioRootNamespace: { type: "string", default: "istio-system", description: "Istio's root namespace, where a PeerAuthentication without selector is mesh-wide." },
        meshWideStrict: { type: "boolean", default: false, description: "The mesh outside this stack already enforces STRICT (a mesh-wide PeerAuthentication this stack does not hold)." },
    },
    checkStack(resources, config) {
        const namespaces = namespacesOf(resources);
        const peerAuthentications = resources.filter((resource) => isPeerAuthentication(resource.type));
        const violations: StackViolation[] = [];
        for (const item of workloadsOf(resources)) {
            if (config.exemptNamespaces.includes(item.namespace)) continue;
            const what = describe(item.resource.type, item.resource.props);
            const membership = meshMembership(item.template, namespaces.get(item.namespace), config.meshedNamespaces, item.namespace);
            const urn = item.resource.urn;
            if (!membership.istio && !membership.linkerd) {
                violations.push({ urn, message: `${what} is in no mesh with mTLS (no Istio or Linkerd injection on it or its namespace); production runs every app with mTLS: use mode istio or linkerd` });
            } else if (membership.istio) {
                const pa = governingPeerAuthentication(item, peerAuthentications, config.istioRootNamespace);
                const mode = pa?.props.spec.mtls.mode as string | undefined;
                const reasoned = pa !== undefined && (annotationsOf(pa.props)[PERMISSIVE_REASON_ANNOTATION] ?? "").trim().length > 0;
                // STRICT with ports opened to plaintext (portLevelMtls PERMISSIVE) needs the same reason as a PERMISSIVE policy.
                const openPorts = Object.entries((pa?.props.spec?.portLevelMtls ?? {}) as Record<string, { mode?: string }>)
                    .filter(([, port]) => port?.mode === "PERMISSIVE")
                    .map(([port]) => port);
                if (mode === "STRICT" && openPorts.length > 0 && !reasoned) {
                    violations.push({ urn, message: `${what} accepts plaintext on port(s) ${openPorts.join(", ")}: ${describe(pa!.type, pa!.props)} sets portLevelMtls PERMISSIVE there; name the callers outside the mesh in ${PERMISSIVE_REASON_ANNOTATION}, or remove it` });
                    continue;
                }
                if (mode === "STRICT" || (mode === undefined && config.meshWideStrict)) continue;
                if (mode === "PERMISSIVE" && reasoned) continue;
                violations.push({
                    urn,
                    message: pa
                        ? `${what} accepts plaintext: ${describe(pa.type, pa.props)} sets mtls.mode ${mode}; use STRICT, or name the callers outside the mesh in ${PERMISSIVE_REASON_ANNOTATION}`
                        : `${what} accepts plaintext: no PeerAuthentication in this stack sets its mtls.mode (Istio's default is PERMISSIVE); add one with mtls.mode STRICT`,
                });
            } else {
                const policy = item.template.annotations["config.linkerd.io/default-inbound-policy"] ?? annotationsOf(namespaces.get(item.namespace) ?? {})["config.linkerd.io/default-inbound-policy"];
                if (!LINKERD_REJECTS_PLAINTEXT.includes(policy ?? "")) {
                    violations.push({
                        urn,
                        message: `${what} is in Linkerd but accepts plaintext (default-inbound-policy ${policy ?? "all-unauthenticated"}); set config.linkerd.io/default-inbound-policy: all-authenticated (or deny)`,
                    });
                }
            }
        }
        return violations;
    },
};

// ---------------------------------------------------------------------------------------------
// The platform an app needs.

/** Chart names of Istio's control plane (the chart is `istiod`, its folder `istio-discovery`). */
const ISTIOD_CHART = /(^|\/)(istiod|istio-discovery)\/?$/;

export function hasIstioControlPlane(resources: readonly KubeResource[]): boolean {
    return resources.some((resource) => {
        const template = workload(resource);
        if (template && isKind(resource.type, "apps", "Deployment") && template.labels.app === "istiod") return true;
        const chart = resource.props.chart;
        return /^kubernetes:helm\.sh\/v\d+:(Chart|Release)$/.test(resource.type) && typeof chart === "string" && ISTIOD_CHART.test(chart);
    });
}

export const istioControlPlane: StackRule<{ existingControlPlane: boolean; meshedNamespaces: string[] }> = {
    name: "istio-control-plane",
    description: "Every workload in Istio (sidecar or ambient) has an Istio control plane in the stack or declared existing.",
    remediation: "Install istiod in the same stack (the istiod chart), or, when a control plane already runs in the cluster, declare it with this policy's existingControlPlane: true. Without one, injection never happens or pods wait for a proxy that never gets config.",
    enforcementLevel: "mandatory",
    config: {
        existingControlPlane: { type: "boolean", default: false, description: "An Istio control plane runs in the cluster outside this stack." },
        meshedNamespaces: { type: "array", items: { type: "string" }, default: [], description: "Namespaces outside the stack whose Istio injection is on." },
    },
    checkStack(resources, config) {
        if (config.existingControlPlane || hasIstioControlPlane(resources)) return [];
        const namespaces = namespacesOf(resources);
        return workloadsOf(resources)
            .filter((item) => meshMembership(item.template, namespaces.get(item.namespace), config.meshedNamespaces, item.namespace).istio !== undefined)
            .map((item) => ({
                urn: item.resource.urn,
                message: `${describe(item.resource.type, item.resource.props)} runs in Istio, but the stack has no Istio control plane; install istiod in the stack or declare an existing one (existingControlPlane: true)`,
            }));
    },
};

export const RESOURCE_RULES: readonly ResourceRule<any>[] = [workloadResources, workloadSecurityProfile, imagePinned, noPlaintextSecretEnv, loadBalancerNeedsExposure, productionNoMtlsDisable, productionNoAllowAll];
export const STACK_RULES: readonly StackRule<any>[] = [productionMtls, istioControlPlane];
