/**
 * Plain views of Kubernetes objects as the engine hands them to a policy: a type token
 * (`kubernetes:apps/v1:Deployment`, `kubernetes:security.istio.io/v1:PeerAuthentication`) and the
 * resource's properties. No Pulumi import: the rules are plain functions over these views.
 */

export type Props = Record<string, any>;

/** One resource of a stack, as the pack sees it. */
export interface KubeResource {
    type: string;
    props: Props;
    urn?: string;
}

/** `group/version` and kind of a Kubernetes type token; undefined for anything else (providers, components). */
export function kindOf(type: string): { group: string; version: string; kind: string } | undefined {
    const match = /^kubernetes:(?:([a-z0-9.-]+)\/)?(v[0-9a-z]+):([A-Za-z0-9]+)$/.exec(type);
    if (!match) return undefined;
    return { group: match[1] === "core" || match[1] === undefined ? "" : match[1], version: match[2]!, kind: match[3]! };
}

export function isKind(type: string, group: string, kind: string): boolean {
    const parsed = kindOf(type);
    return parsed !== undefined && parsed.group === group && parsed.kind === kind;
}

/** Where each workload kind keeps its pod template. Patches are partial objects and are left out. */
const POD_TEMPLATE_PATHS: Record<string, readonly string[]> = {
    "apps/Deployment": ["spec", "template"],
    "apps/StatefulSet": ["spec", "template"],
    "apps/DaemonSet": ["spec", "template"],
    "apps/ReplicaSet": ["spec", "template"],
    "/ReplicationController": ["spec", "template"],
    "batch/Job": ["spec", "template"],
    "batch/CronJob": ["spec", "jobTemplate", "spec", "template"],
    "/Pod": [],
};

export interface PodTemplate {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    spec: Props;
}

/** The pod template of a workload (a Pod is its own template); undefined for other kinds. */
export function podTemplateOf(type: string, props: Props): PodTemplate | undefined {
    const parsed = kindOf(type);
    if (!parsed) return undefined;
    const templatePath = POD_TEMPLATE_PATHS[`${parsed.group}/${parsed.kind}`];
    if (!templatePath) return undefined;
    let template: any = props;
    for (const key of templatePath) template = template?.[key];
    if (template === undefined || template === null) return undefined;
    return { labels: template.metadata?.labels ?? {}, annotations: template.metadata?.annotations ?? {}, spec: template.spec ?? {} };
}

export interface Container {
    name: string;
    image?: string;
    resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
    securityContext?: Props;
    env?: { name: string; value?: unknown; valueFrom?: unknown }[];
    ports?: { hostPort?: number }[];
    /** True for init containers (native sidecars included). */
    init: boolean;
}

/** Every container of a pod spec, init containers (native sidecars) first, as the kubelet starts them. */
export function containersOf(spec: Props): Container[] {
    const list = (items: unknown, init: boolean): Container[] => (Array.isArray(items) ? items.map((item) => ({ ...(item as Container), init })) : []);
    return [...list(spec.initContainers, true), ...list(spec.containers, false)];
}

/**
 * Runs `check` on every container (init containers and native sidecars included) of the workload
 * `type`/`props` describes, and gathers what it finds; nothing for a resource that has no pod template.
 */
export function checkContainers(type: string, props: Props, check: (container: Container, template: PodTemplate) => string[]): string[] {
    const template = podTemplateOf(type, props);
    return template ? containersOf(template.spec).flatMap((container) => check(container, template)) : [];
}

/** `namespace/name` of an object, or its name when it has no namespace. */
export function objectName(props: Props): string {
    const metadata = props.metadata ?? {};
    const name = typeof metadata.name === "string" ? metadata.name : "(generated name)";
    return typeof metadata.namespace === "string" ? `${metadata.namespace}/${name}` : name;
}

/** The object's kind and `namespace/name`, the way messages name it: `Deployment ruoyi/mysql`. */
export function describe(type: string, props: Props): string {
    return `${kindOf(type)?.kind ?? type} ${objectName(props)}`;
}

export function annotationsOf(props: Props): Record<string, string> {
    return props.metadata?.annotations ?? {};
}

export function labelsOf(props: Props): Record<string, string> {
    return props.metadata?.labels ?? {};
}

/** Whether a label selector (`matchLabels` only, as PeerAuthentication uses) selects these labels; no selector selects all. */
export function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string>): boolean {
    return Object.entries(matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

/** Clips a value for a message: policy messages land in PR comments. */
export function clip(text: string, limit = 60): string {
    return text.length <= limit ? text : `${text.slice(0, limit - 3)}...`;
}
