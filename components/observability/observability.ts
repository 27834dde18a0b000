import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { stringify } from "yaml";
import { failOnProblems } from "../resources";
import { given, type Problem, kubeName, shortHash } from "../model";
import {
    KIALI_AUTH_STRATEGIES,
    KIALI_METRICS_PORT,
    KIALI_PORT,
    KIALI_SIGNING_KEY_MOUNT_PATH,
    KIALI_WEB_ROOT,
    checkSigningKey,
    kialiConfig,
    type KialiAuthStrategy,
} from "./kialiConfig";
import { PROMETHEUS_PORT, prometheusConfig } from "./prometheusConfig";
import { EXPOSURE_ANNOTATION } from "../../policy/contract";
import type { NetworkPeer } from "../modes";

export { KIALI_AUTH_STRATEGIES, type KialiAuthStrategy } from "./kialiConfig";

/** Prometheus image; the version Istio's `samples/addons/prometheus.yaml` ships with. */
export const PROMETHEUS_IMAGE = "docker.io/prom/prometheus:v3.10.0";

/**
 * Kiali image; the release Istio's `samples/addons/kiali.yaml` ships with (chart 2.27.0). The sample
 * uses the moving `v2.27` tag; we pin the patch so a pod restart never changes the binary.
 */
export const KIALI_IMAGE = "quay.io/kiali/kiali:v2.27.0";

/** How Kiali is reached from outside the cluster. */
export type KialiExposure = "ClusterIP" | "NodePort" | "LoadBalancer" | { gatewayHost: string };

/** The plain Service types among {@link KialiExposure}. */
export const KIALI_SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;

/** Arguments of {@link Observability}. */
export interface ObservabilityArgs {
    /** Namespace of Prometheus and Kiali. @default "istio-system" */
    namespace?: string;
    /**
     * Create the namespace. Leave false when it is Istio's namespace, which IstioControlPlane creates
     * (then pass the control plane in `dependsOn`). @default false
     */
    createNamespace?: boolean;
    /** Namespace of istiod, scraped by Prometheus. @default "istio-system" */
    istioNamespace?: string;
    /**
     * How users log in to Kiali. `token`: with the token of a dedicated read-only ServiceAccount,
     * exported as the secret output `kialiToken`. `anonymous`: anyone who reaches Kiali can use it.
     * @default "token"
     */
    auth?: KialiAuthStrategy;
    /**
     * Kiali's session signing key (16, 24 or 32 bytes), normally a Pulumi config secret. It is kept
     * in a Kubernetes Secret that Kiali's config references; changing it logs everyone out.
     *
     * When absent, a random 32-character key is generated when the Secret is first created and then
     * frozen (`ignoreChanges` on the Secret's data), so later `up`s neither change it nor log users
     * out. Why not a fixed default: Kiali v2 (`config.go` `validateSigningKey`) refuses to start in
     * token mode with a key that is not 16/24/32 bytes, so an empty key is not an option, and its
     * built-in default `kiali` is both too short and public; any key derived from public inputs
     * would be as guessable. The Kiali operator does the same: it creates a random key Secret once.
     * To rotate a generated key, delete the Secret (or set this argument).
     * @default undefined (generated once, then kept)
     */
    signingKey?: pulumi.Input<string>;
    /**
     * How Kiali is exposed: a Service of type `ClusterIP` (port-forward to it), `NodePort` or
     * `LoadBalancer`, or `{ gatewayHost }`: an Istio Gateway and VirtualService for that host on the
     * ingress gateway selected by `ingressGatewaySelector`. @default "ClusterIP"
     */
    exposure?: KialiExposure;
    /**
     * Pod labels of the ingress gateway, used with `exposure: { gatewayHost }`; take them from
     * `IstioControlPlane.gateway.selectorLabels`. @default { istio: "ingressgateway" } (Istio's default gateway)
     */
    ingressGatewaySelector?: Record<string, string>;
    /**
     * Resource that must be ready before Istio objects are created (`IstioControlPlane.ready`):
     * Istio's validating webhook refuses them until istiod runs. Used with `exposure: { gatewayHost }`.
     * @default undefined (no extra dependency)
     */
    istioReady?: pulumi.Resource;
    /** Prometheus scrape interval. @default "15s" */
    scrapeInterval?: string;
    /** How long Prometheus keeps samples (it stores them in an emptyDir: a restart loses them). @default "15d" */
    prometheusRetention?: string;
    /** Prometheus image (change for a mirror). @default PROMETHEUS_IMAGE */
    prometheusImage?: string;
    /** Kiali image (change for a mirror). @default KIALI_IMAGE */
    kialiImage?: string;
    /**
     * NetworkPolicies for Prometheus (only Kiali connects to it) and Kiali (only the ingress gateway
     * with a `gatewayHost` exposure, anyone with a Service exposure). Their egress stays open:
     * Prometheus scrapes every namespace and both call the API server, whose address no pod
     * selector names. @default true
     */
    networkPolicies?: boolean;
}

/** {@link ObservabilityArgs} with every default applied. */
export interface ResolvedObservabilityArgs {
    namespace: string;
    createNamespace: boolean;
    istioNamespace: string;
    auth: KialiAuthStrategy;
    signingKey: pulumi.Input<string> | undefined;
    exposure: KialiExposure;
    ingressGatewaySelector: Record<string, string>;
    istioReady: pulumi.Resource | undefined;
    scrapeInterval: string;
    prometheusRetention: string;
    prometheusImage: string;
    kialiImage: string;
    networkPolicies: boolean;
}

/** The one place where {@link ObservabilityArgs} defaults live. */
export function withDefaults(args: ObservabilityArgs = {}): ResolvedObservabilityArgs {
    return {
        namespace: args.namespace ?? "istio-system",
        createNamespace: args.createNamespace ?? false,
        istioNamespace: args.istioNamespace ?? "istio-system",
        auth: args.auth ?? "token",
        signingKey: args.signingKey,
        exposure: args.exposure ?? "ClusterIP",
        ingressGatewaySelector: args.ingressGatewaySelector ?? { istio: "ingressgateway" },
        istioReady: args.istioReady,
        scrapeInterval: args.scrapeInterval ?? "15s",
        prometheusRetention: args.prometheusRetention ?? "15d",
        prometheusImage: args.prometheusImage ?? PROMETHEUS_IMAGE,
        kialiImage: args.kialiImage ?? KIALI_IMAGE,
        networkPolicies: args.networkPolicies ?? true,
    };
}

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PROMETHEUS_DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** Every problem with the (plain) arguments, keyed by argument name. */
export function validateObservabilityArgs(args: ResolvedObservabilityArgs): Problem[] {
    const problems: Problem[] = [];
    for (const key of ["namespace", "istioNamespace"] as const) {
        if (!DNS_1123_LABEL.test(args[key]) || args[key].length > 63) {
            problems.push({ key, message: `${given(args[key])} is not a namespace name; use a DNS-1123 label (lowercase letters, digits, '-', at most 63 characters)` });
        }
    }
    if (!KIALI_AUTH_STRATEGIES.includes(args.auth)) {
        problems.push({ key: "auth", message: `${given(args.auth)} is not a Kiali auth strategy; use one of ${KIALI_AUTH_STRATEGIES.join(", ")}` });
    }
    const exposure = args.exposure;
    if (typeof exposure === "string") {
        if (!(KIALI_SERVICE_TYPES as readonly string[]).includes(exposure)) {
            problems.push({ key: "exposure", message: `${given(exposure)} is not an exposure; use one of ${KIALI_SERVICE_TYPES.join(", ")} or { gatewayHost: "<host>" }` });
        }
    } else if (typeof exposure?.gatewayHost !== "string" || !DNS_1123_SUBDOMAIN.test(exposure.gatewayHost)) {
        problems.push({ key: "exposure.gatewayHost", message: `${given(exposure?.gatewayHost)} is not a host name; use a lowercase DNS name such as "kiali.example.com"` });
    } else if (Object.keys(args.ingressGatewaySelector).length === 0) {
        problems.push({ key: "ingressGatewaySelector", message: "is empty; an Istio Gateway without a selector would bind to no gateway pods (use IstioControlPlane.gateway.selectorLabels)" });
    }
    for (const key of ["scrapeInterval", "prometheusRetention"] as const) {
        if (!PROMETHEUS_DURATION.test(args[key])) {
            problems.push({ key, message: `${given(args[key])} is not a Prometheus duration; use e.g. "15s", "1m" or "15d"` });
        }
    }
    return problems;
}

/** Every problem with unresolved arguments (defaults applied first), keyed by argument name. */
export function checkObservabilityArgs(args: ObservabilityArgs): Problem[] {
    return validateObservabilityArgs(withDefaults(args));
}

/** Scrape timeout: Prometheus' 10s default, but never longer than the interval (promtool refuses that). */
function scrapeTimeout(interval: string): string {
    const seconds = /^(\d+)s$/.exec(interval);
    return seconds && Number(seconds[1]) < 10 ? interval : "10s";
}

/** Labels shared by an app's objects; also its (immutable) selector, so keep them stable. */
function appLabels(app: string): Record<string, string> {
    return { app, "app.kubernetes.io/name": app, "app.kubernetes.io/instance": app, "app.kubernetes.io/part-of": "pluggable-mesh" };
}

/** Prometheus's pods, as apps' NetworkPolicies admit them on each mode's metrics ports. */
export function prometheusPeer(namespace: string): NetworkPeer {
    return { namespace, podSelector: appLabels("prometheus") };
}

/** NetworkPolicy spec admitting `from` (every source when absent) on `ports` to the pods with `labels`. */
type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;

function ingressOnly(labels: Record<string, string>, rules: { from?: k8s.types.input.networking.v1.NetworkPolicyPeer[]; ports: number[] }[]): NetworkPolicySpec {
    return {
        podSelector: { matchLabels: labels },
        policyTypes: ["Ingress"],
        ingress: rules.map(({ from, ports }) => ({ ...(from ? { from } : {}), ports: ports.map((port) => ({ protocol: "TCP", port })) })),
    };
}

/** The NetworkPolicy specs of Prometheus and Kiali: who may connect to each (see {@link ObservabilityArgs.networkPolicies}). */
export function observabilityPolicySpecs(args: ResolvedObservabilityArgs): { prometheus: NetworkPolicySpec; kiali: NetworkPolicySpec } {
    const kiali = { podSelector: { matchLabels: appLabels("kiali") } };
    const prometheus = { podSelector: { matchLabels: appLabels("prometheus") } };
    const gateway =
        typeof args.exposure === "object"
            ? [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.istioNamespace } }, podSelector: { matchLabels: args.ingressGatewaySelector } }]
            : undefined;
    return {
        prometheus: ingressOnly(appLabels("prometheus"), [{ from: [kiali], ports: [PROMETHEUS_PORT] }]),
        kiali: ingressOnly(appLabels("kiali"), [
            { from: gateway, ports: [KIALI_PORT] },
            { from: [prometheus], ports: [KIALI_METRICS_PORT] },
        ]),
    };
}

const CONTAINER_SECURITY_CONTEXT = {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    seccompProfile: { type: "RuntimeDefault" },
    capabilities: { drop: ["ALL"] },
};

/** Read-only access to what Kiali shows, for Kiali itself and for users logging in with a token. */
const KIALI_READ_RULES = [
    { apiGroups: [""], resources: ["configmaps", "endpoints", "pods/log", "namespaces", "pods", "replicationcontrollers", "services"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["apps"], resources: ["daemonsets", "deployments", "replicasets", "statefulsets"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: ["get", "list", "watch"] },
    {
        apiGroups: ["networking.istio.io", "security.istio.io", "extensions.istio.io", "telemetry.istio.io", "gateway.networking.k8s.io"],
        resources: ["*"],
        verbs: ["get", "list", "watch"],
    },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
    { apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], verbs: ["get", "list", "watch"] },
];

/**
 * Prometheus and Kiali for the mesh, built from plain Kubernetes objects so that everything renders
 * offline (no chart download). Prometheus scrapes istiod and every pod annotated
 * `prometheus.io/scrape` (Istio sidecars and envoy-mode pods); Kiali reads that Prometheus.
 * Kiali's graph is made from Istio's metrics only: native- and envoy-mode apps show as nodes at
 * best, never as edges.
 */
export class Observability extends pulumi.ComponentResource {
    /** Namespace of Prometheus and Kiali. */
    readonly namespace: string;
    /** In-cluster URL of Prometheus. */
    readonly prometheusUrl: string;
    /**
     * Where to open Kiali: the in-cluster URL (ClusterIP; use `kubectl port-forward`), `http://<host>/kiali`
     * through the gateway, the node port, or the load balancer's address once the cloud assigned one.
     */
    readonly kialiUrl: pulumi.Output<string>;
    /**
     * Token to log in to Kiali (a Pulumi secret: `pulumi stack output --show-secrets`); undefined with
     * `anonymous` auth. Empty when no token controller filled the Secret (e.g. when rendering YAML).
     */
    readonly kialiToken: pulumi.Output<string> | undefined;

    constructor(name: string, args: ObservabilityArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        // Validate before registering anything, the component included.
        const resolved = withDefaults(args);
        failOnProblems(validateObservabilityArgs(resolved).map((problem) => ({ ...problem, key: `${name}.${problem.key}` })));
        super("pluggable-mesh:observability:Observability", name, {}, opts);

        const namespace = resolved.namespace;
        const parent = { parent: this };
        const namespaced = resolved.createNamespace
            ? [new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: namespace } }, parent)]
            : [];
        const inNamespace: pulumi.CustomResourceOptions = { parent: this, dependsOn: namespaced };
        // Cluster-scoped names carry the namespace, so two installations never share a ClusterRole.
        const clusterName = (suffix: string) => kubeName(namespace, suffix);

        // ---- Prometheus ----------------------------------------------------------------------
        const prometheusName = "prometheus";
        const prometheusLabels = appLabels(prometheusName);
        this.prometheusUrl = `http://${prometheusName}.${namespace}.svc.cluster.local:${PROMETHEUS_PORT}`;
        const prometheusYaml = stringify(
            prometheusConfig({
                istioNamespace: resolved.istioNamespace,
                scrapeInterval: resolved.scrapeInterval,
                scrapeTimeout: scrapeTimeout(resolved.scrapeInterval),
            }),
        );

        const prometheusAccount = new k8s.core.v1.ServiceAccount(
            `${name}-prometheus`,
            { metadata: { name: prometheusName, namespace, labels: prometheusLabels } },
            inNamespace,
        );
        const prometheusRole = new k8s.rbac.v1.ClusterRole(
            `${name}-prometheus`,
            {
                metadata: { name: clusterName(prometheusName), labels: prometheusLabels },
                rules: [
                    { apiGroups: [""], resources: ["nodes", "nodes/metrics", "services", "endpoints", "pods"], verbs: ["get", "list", "watch"] },
                    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
                    { nonResourceURLs: ["/metrics"], verbs: ["get"] },
                ],
            },
            parent,
        );
        new k8s.rbac.v1.ClusterRoleBinding(
            `${name}-prometheus`,
            {
                metadata: { name: clusterName(prometheusName), labels: prometheusLabels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: prometheusRole.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: prometheusAccount.metadata.name, namespace }],
            },
            parent,
        );
        const prometheusConfigMap = new k8s.core.v1.ConfigMap(
            `${name}-prometheus`,
            { metadata: { name: prometheusName, namespace, labels: prometheusLabels }, data: { "prometheus.yml": prometheusYaml } },
            inNamespace,
        );
        new k8s.apps.v1.Deployment(
            `${name}-prometheus`,
            {
                metadata: { name: prometheusName, namespace, labels: prometheusLabels },
                spec: {
                    replicas: 1,
                    // One writer per TSDB directory: never run old and new pods side by side.
                    strategy: { type: "Recreate" },
                    selector: { matchLabels: prometheusLabels },
                    template: {
                        metadata: {
                            labels: { ...prometheusLabels, "sidecar.istio.io/inject": "false" },
                            // A config change rolls the pod; no reloader sidecar (one image fewer to mirror).
                            annotations: { "pluggable-mesh/config-hash": shortHash(prometheusYaml) },
                        },
                        spec: {
                            serviceAccountName: prometheusAccount.metadata.name,
                            securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534 },
                            containers: [
                                {
                                    name: "prometheus",
                                    image: resolved.prometheusImage,
                                    args: [
                                        "--config.file=/etc/prometheus/prometheus.yml",
                                        "--storage.tsdb.path=/prometheus",
                                        `--storage.tsdb.retention.time=${resolved.prometheusRetention}`,
                                        `--web.listen-address=:${PROMETHEUS_PORT}`,
                                    ],
                                    ports: [{ name: "http", containerPort: PROMETHEUS_PORT }],
                                    readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 5, timeoutSeconds: 4 },
                                    livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, initialDelaySeconds: 30, periodSeconds: 15, timeoutSeconds: 10 },
                                    resources: { requests: { cpu: "50m", memory: "256Mi" }, limits: { memory: "2Gi" } },
                                    securityContext: CONTAINER_SECURITY_CONTEXT,
                                    volumeMounts: [
                                        { name: "config", mountPath: "/etc/prometheus", readOnly: true },
                                        { name: "data", mountPath: "/prometheus" },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "config", configMap: { name: prometheusConfigMap.metadata.name } },
                                { name: "data", emptyDir: {} },
                            ],
                        },
                    },
                },
            },
            inNamespace,
        );
        new k8s.core.v1.Service(
            `${name}-prometheus`,
            {
                metadata: { name: prometheusName, namespace, labels: prometheusLabels },
                spec: {
                    type: "ClusterIP",
                    selector: prometheusLabels,
                    ports: [{ name: "http", port: PROMETHEUS_PORT, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
                },
            },
            inNamespace,
        );

        // ---- Kiali ---------------------------------------------------------------------------
        const kialiName = "kiali";
        const kialiLabels = appLabels(kialiName);
        const signingKeySecretName = "kiali-signing-key";
        const signingKeySecretKey = "signing-key";
        const kialiYaml = stringify(
            kialiConfig({
                namespace,
                authStrategy: resolved.auth,
                prometheusUrl: this.prometheusUrl,
                signingKeySecretName,
                signingKeySecretKey,
            }),
        );

        const signingKey = resolved.signingKey === undefined
            ? pulumi.secret(randomBytes(24).toString("base64url"))
            : pulumi.secret(pulumi.output(resolved.signingKey).apply((key) => {
                const problem = checkSigningKey(key);
                if (problem !== undefined) {
                    throw new pulumi.RunError(`${name}.signingKey: ${problem}`);
                }
                return key;
            }));
        const signingKeySecret = new k8s.core.v1.Secret(
            `${name}-kiali-signing-key`,
            {
                metadata: { name: signingKeySecretName, namespace, labels: kialiLabels },
                type: "Opaque",
                stringData: { [signingKeySecretKey]: signingKey },
            },
            {
                ...inNamespace,
                // A generated key is kept after creation: each run makes a new random one, which must not log users out.
                ignoreChanges: resolved.signingKey === undefined ? ["stringData", "data"] : [],
            },
        );

        const kialiAccount = new k8s.core.v1.ServiceAccount(
            `${name}-kiali`,
            { metadata: { name: kialiName, namespace, labels: kialiLabels } },
            inNamespace,
        );
        const kialiRole = new k8s.rbac.v1.ClusterRole(
            `${name}-kiali`,
            {
                metadata: { name: clusterName(kialiName), labels: kialiLabels },
                rules: [
                    ...KIALI_READ_RULES,
                    // Kiali reads proxy status from istiod through a port-forward.
                    { apiGroups: [""], resources: ["pods/portforward"], verbs: ["create", "post"] },
                    // Token login: Kiali reviews the tokens users present.
                    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
                ],
            },
            parent,
        );
        new k8s.rbac.v1.ClusterRoleBinding(
            `${name}-kiali`,
            {
                metadata: { name: clusterName(kialiName), labels: kialiLabels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: kialiRole.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: kialiAccount.metadata.name, namespace }],
            },
            parent,
        );
        const kialiConfigMap = new k8s.core.v1.ConfigMap(
            `${name}-kiali`,
            { metadata: { name: kialiName, namespace, labels: kialiLabels }, data: { "config.yaml": kialiYaml } },
            inNamespace,
        );
        new k8s.apps.v1.Deployment(
            `${name}-kiali`,
            {
                metadata: { name: kialiName, namespace, labels: kialiLabels },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: kialiLabels },
                    template: {
                        metadata: {
                            labels: { ...kialiLabels, "sidecar.istio.io/inject": "false" },
                            annotations: {
                                "pluggable-mesh/config-hash": shortHash(kialiYaml),
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": String(KIALI_METRICS_PORT),
                            },
                        },
                        spec: {
                            serviceAccountName: kialiAccount.metadata.name,
                            // The image's uid 1000 could be a host account; Kiali runs under any uid (OpenShift assigns
                            // arbitrary ones), so it runs as nobody, like Prometheus.
                            securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 },
                            containers: [
                                {
                                    name: "kiali",
                                    image: resolved.kialiImage,
                                    command: ["/opt/kiali/kiali", "-config", "/kiali-configuration/config.yaml"],
                                    env: [{ name: "ACTIVE_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
                                    ports: [
                                        { name: "api-port", containerPort: KIALI_PORT },
                                        { name: "http-metrics", containerPort: KIALI_METRICS_PORT },
                                    ],
                                    readinessProbe: { httpGet: { path: `${KIALI_WEB_ROOT}/healthz`, port: "api-port" }, initialDelaySeconds: 5, periodSeconds: 30 },
                                    // Liveness asks only whether the server still accepts connections: a probe identical to
                                    // readiness would restart Kiali whenever it is merely unready (kube-score pod-probes-identical).
                                    livenessProbe: { tcpSocket: { port: "api-port" }, initialDelaySeconds: 5, periodSeconds: 30 },
                                    startupProbe: { httpGet: { path: `${KIALI_WEB_ROOT}/healthz`, port: "api-port" }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 6 },
                                    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "1Gi" } },
                                    securityContext: CONTAINER_SECURITY_CONTEXT,
                                    terminationMessagePolicy: "FallbackToLogsOnError",
                                    volumeMounts: [
                                        { name: "config", mountPath: "/kiali-configuration", readOnly: true },
                                        { name: "signing-key", mountPath: KIALI_SIGNING_KEY_MOUNT_PATH, readOnly: true },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "config", configMap: { name: kialiConfigMap.metadata.name } },
                                { name: "signing-key", secret: { secretName: signingKeySecret.metadata.name } },
                            ],
                        },
                    },
                },
            },
            inNamespace,
        );
        const exposure = resolved.exposure;
        const kialiService = new k8s.core.v1.Service(
            `${name}-kiali`,
            {
                metadata: {
                    name: kialiName,
                    namespace,
                    labels: kialiLabels,
                    // The stack asked for this exposure; the policy pack accepts a LoadBalancer that says which setting did.
                    ...(exposure === "LoadBalancer" ? { annotations: { [EXPOSURE_ANNOTATION]: "pluggable-mesh:observability.kialiExposure" } } : {}),
                },
                spec: {
                    type: typeof exposure === "string" ? exposure : "ClusterIP",
                    selector: kialiLabels,
                    ports: [
                        { name: "http", port: KIALI_PORT, targetPort: "api-port", protocol: "TCP", appProtocol: "http" },
                        { name: "http-metrics", port: KIALI_METRICS_PORT, targetPort: "http-metrics", protocol: "TCP", appProtocol: "http" },
                    ],
                },
            },
            inNamespace,
        );
        const kialiHost = `${kialiName}.${namespace}.svc.cluster.local`;

        if (typeof exposure === "object") {
            const istioOptions: pulumi.CustomResourceOptions = {
                parent: this,
                dependsOn: [...namespaced, ...(resolved.istioReady ? [resolved.istioReady] : [])],
            };
            const gateway = new k8s.apiextensions.CustomResource(
                `${name}-kiali-gateway`,
                {
                    apiVersion: "networking.istio.io/v1",
                    kind: "Gateway",
                    metadata: { name: kialiName, namespace, labels: kialiLabels },
                    spec: {
                        selector: resolved.ingressGatewaySelector,
                        servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: [exposure.gatewayHost] }],
                    },
                },
                istioOptions,
            );
            new k8s.apiextensions.CustomResource(
                `${name}-kiali-virtualservice`,
                {
                    apiVersion: "networking.istio.io/v1",
                    kind: "VirtualService",
                    metadata: { name: kialiName, namespace, labels: kialiLabels },
                    spec: {
                        hosts: [exposure.gatewayHost],
                        gateways: [gateway.metadata.name],
                        http: [
                            {
                                name: "root",
                                match: [{ uri: { exact: "/" } }],
                                redirect: { uri: `${KIALI_WEB_ROOT}/` },
                            },
                            {
                                name: "kiali",
                                match: [{ uri: { prefix: KIALI_WEB_ROOT } }],
                                route: [{ destination: { host: kialiHost, port: { number: KIALI_PORT } } }],
                            },
                        ],
                    },
                },
                istioOptions,
            );
        }
        this.kialiUrl = kialiUrl(exposure, kialiHost, kialiService);

        // ---- Kiali login ---------------------------------------------------------------------
        if (resolved.auth === "token") {
            const loginName = "kiali-login";
            const loginAccount = new k8s.core.v1.ServiceAccount(
                `${name}-kiali-login`,
                { metadata: { name: loginName, namespace, labels: kialiLabels } },
                inNamespace,
            );
            const viewerRole = new k8s.rbac.v1.ClusterRole(
                `${name}-kiali-viewer`,
                { metadata: { name: clusterName("kiali-viewer"), labels: kialiLabels }, rules: KIALI_READ_RULES },
                parent,
            );
            new k8s.rbac.v1.ClusterRoleBinding(
                `${name}-kiali-login`,
                {
                    metadata: { name: clusterName(loginName), labels: kialiLabels },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: viewerRole.metadata.name },
                    subjects: [{ kind: "ServiceAccount", name: loginAccount.metadata.name, namespace }],
                },
                parent,
            );
            // A long-lived token Secret: the token controller fills `data.token`, and the provider
            // waits for it. The ServiceAccount must exist first (pulumi-kubernetes#4396).
            const tokenSecret = new k8s.core.v1.Secret(
                `${name}-kiali-login-token`,
                {
                    metadata: {
                        name: `${loginName}-token`,
                        namespace,
                        labels: kialiLabels,
                        annotations: { "kubernetes.io/service-account.name": loginName },
                    },
                    type: "kubernetes.io/service-account-token",
                },
                { parent: this, dependsOn: [...namespaced, loginAccount] },
            );
            this.kialiToken = pulumi.secret(
                tokenSecret.data.apply((data) => (data?.token ? Buffer.from(data.token, "base64").toString("utf8") : "")),
            );
        } else {
            this.kialiToken = undefined;
        }

        if (resolved.networkPolicies) {
            const specs = observabilityPolicySpecs(resolved);
            for (const [app, spec] of Object.entries(specs)) {
                new k8s.networking.v1.NetworkPolicy(`${name}-${app}`, { metadata: { name: app, namespace, labels: appLabels(app) }, spec }, inNamespace);
            }
        }

        this.namespace = namespace;
        this.registerOutputs({
            namespace: this.namespace,
            prometheusUrl: this.prometheusUrl,
            kialiUrl: this.kialiUrl,
            kialiToken: this.kialiToken,
        });
    }
}

/**
 * Where a user opens Kiali. Only ClusterIP and the gateway host are known in advance; a node port
 * or load-balancer address exists once the cluster assigned it (and is unknown in preview or when
 * rendering YAML), so the URL says so instead of guessing.
 */
export function kialiUrl(exposure: KialiExposure, inClusterHost: string, service: k8s.core.v1.Service): pulumi.Output<string> {
    if (typeof exposure === "object") {
        return pulumi.output(`http://${exposure.gatewayHost}${KIALI_WEB_ROOT}`);
    }
    switch (exposure) {
        case "NodePort":
            return service.spec.ports.apply((ports) => {
                const nodePort = ports?.find((port) => port.name === "http")?.nodePort;
                return `http://<node-address>:${nodePort ?? "<unassigned node port>"}${KIALI_WEB_ROOT}`;
            });
        case "LoadBalancer":
            return service.status.apply((status) => {
                const ingress = status?.loadBalancer?.ingress?.[0];
                const address = ingress?.hostname || ingress?.ip || "<pending load balancer>";
                return `http://${address}:${KIALI_PORT}${KIALI_WEB_ROOT}`;
            });
        default:
            return pulumi.output(`http://${inClusterHost}:${KIALI_PORT}${KIALI_WEB_ROOT}`);
    }
}
