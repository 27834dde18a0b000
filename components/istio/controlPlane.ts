import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { dnsLabel, dnsSubdomain, given, parseQuantity, quantity, type Problem } from "../model";
import { PLATFORM_DEFAULTS, type IstioPlatform } from "../modes";
import { failOnProblems, type IstioPlatformArgs } from "../resources";
import { DEFAULT_ISTIO_VERSION, checkIstioSupport, istioMinor } from "./support";
import { EXPOSURE_ANNOTATION } from "../../policy/contract";

/** Istio's public Helm repository; a mirror works by changing this one value. */
export const ISTIO_CHART_REPOSITORY = "https://istio-release.storage.googleapis.com/charts";

/** Where Istio's release images live; the local (module) charts leave `global.hub` empty or pointing at dev builds. */
export const ISTIO_IMAGE_HUB = "docker.io/istio";

/** How sidecars treat traffic to hosts outside the service registry (meshConfig.outboundTrafficPolicy.mode). */
export type OutboundTrafficPolicy = "ALLOW_ANY" | "REGISTRY_ONLY";
export const OUTBOUND_TRAFFIC_POLICIES: readonly OutboundTrafficPolicy[] = ["ALLOW_ANY", "REGISTRY_ONLY"];

/** Kubernetes Service type of the ingress gateway. */
export type GatewayServiceType = "LoadBalancer" | "NodePort" | "ClusterIP";
export const GATEWAY_SERVICE_TYPES: readonly GatewayServiceType[] = ["LoadBalancer", "NodePort", "ClusterIP"];

/** failurePolicy of Istio's config validation webhook (see {@link IstioControlPlaneArgs.validationFailurePolicy}). */
export type ValidationFailurePolicy = "Fail" | "Ignore";

/**
 * Where the API server calls istiod's admission webhooks when it cannot reach the `istiod` Service:
 * an istiod outside the cluster's pod network (Istio's external control plane), or the embedded
 * test cluster, whose pods are fake and whose istiod runs as a local process.
 */
export interface IstioWebhookEndpointArgs {
    /**
     * Base `https://` URL of istiod's webhook server (its port 15017), without a path: `/inject`
     * and `/validate` are appended. Must not name a Service of the cluster (use the default then).
     */
    url: string;
    /**
     * Base64 of the PEM CA certificate(s) that signed istiod's serving certificate. Written into the
     * webhook configurations, so istiod never patches them and `pulumi up` never undoes a patch.
     */
    caBundle: string;
}

/**
 * Helm release names. `helm.v4.Chart` renders like `helm template`, so no Helm release object
 * exists, but charts read `.Release.Name`: the gateway chart derives its Deployment, ServiceAccount
 * and selector labels from it. They are constants, independent of the component's name, so that
 * renaming the component (with aliases) never renames objects in the cluster.
 */
export const RELEASE_NAMES = {
    base: "istio-base",
    istiod: "istiod",
    gateway: "istio-ingressgateway",
} as const;

/** The name the gateway chart gives its Deployment, Service and ServiceAccount (set explicitly via `name`). */
export const GATEWAY_NAME = "istio-ingressgateway";

/** Type token of the CRD children in a rendered chart, used to retain them on delete. */
const CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

/** CPU and memory quantities, e.g. `{ cpu: "100m", memory: "128Mi" }`. */
export interface ComputeResourcesArgs {
    /** CPU quantity (Kubernetes syntax). @default see the enclosing field */
    cpu?: string;
    /** Memory quantity (Kubernetes syntax). @default see the enclosing field */
    memory?: string;
}

/** Resources of every injected sidecar (istiod's `global.proxy.resources`). */
export interface ProxyResourcesArgs {
    /** Requests of the `istio-proxy` container. @default { cpu: "100m", memory: "128Mi" } (Istio's own default) */
    requests?: ComputeResourcesArgs;
    /** Limits of the `istio-proxy` container. @default { cpu: "2000m", memory: "1024Mi" } (Istio's own default) */
    limits?: ComputeResourcesArgs;
}

/** The part of Istio's MeshConfig this program manages. */
export interface IstioMeshConfigArgs {
    /** Write Envoy access logs to the proxies' stdout (`accessLogFile: /dev/stdout`). @default false */
    accessLogs?: boolean;
    /**
     * `ALLOW_ANY` lets sidecars reach hosts outside the registry; `REGISTRY_ONLY` blocks them unless
     * a ServiceEntry declares them. @default "ALLOW_ANY"
     */
    outboundTrafficPolicy?: OutboundTrafficPolicy;
    /**
     * Start the application container only once its sidecar is ready, so the app's first outbound
     * calls do not fail. @default true
     */
    holdApplicationUntilProxyStarts?: boolean;
}

/** The optional ingress gateway (Istio's `gateway` chart). */
export interface IstioGatewayArgs {
    /** Install an ingress gateway in the control plane's namespace. @default false */
    enabled?: boolean;
    /** Service type of the gateway. @default "LoadBalancer" */
    serviceType?: GatewayServiceType;
}

/**
 * Arguments of {@link IstioControlPlane}. All values are plain (not `pulumi.Input`) on purpose:
 * they end up in Helm values, and an unknown value there makes `pulumi preview` render no chart
 * children at all (DESIGN.md §7).
 */
export interface IstioControlPlaneArgs {
    /** Namespace of istiod and the gateway. @default "istio-system" */
    namespace?: string;
    /**
     * Create the namespace. `false` adopts an existing namespace by name: nothing creates, changes
     * or deletes it. @default true
     */
    createNamespace?: boolean;
    /**
     * Istio release (`major.minor.patch`): chart version from the repository, image tag for local charts.
     * @default DEFAULT_ISTIO_VERSION (components/istio/support.ts)
     */
    version?: string;
    /**
     * Helm repository of the `base`, `istiod` and `gateway` charts. Ignored when `localChartsDir` is set;
     * setting both is an error. @default ISTIO_CHART_REPOSITORY (Istio's public repository)
     */
    repository?: string;
    /**
     * A folder with unpacked charts, for offline use: `base/`, `istiod/` (or the istio.io/istio Go
     * module's layout `istio-control/istio-discovery/`) and `gateway/`. Such charts carry placeholder
     * versions, so `global.hub` and `global.tag` are set from `version`. @default undefined (use `repository`)
     */
    localChartsDir?: string;
    /**
     * Control plane revision (`istio.io/rev`) for canary upgrades: sets istiod's `revision`, the base
     * chart's `defaultRevision`, and makes the injection labels revision labels. @default undefined (no revision)
     */
    revision?: string;
    /**
     * SPIFFE trust domain of the mesh: istiod's `meshConfig.trustDomain`, and the first part of every
     * principal (`<trustDomain>/ns/<namespace>/sa/<account>`) that AuthorizationPolicies name. Every
     * principal must come from this one value, or in-mesh calls are denied. @default "cluster.local"
     */
    trustDomain?: string;
    /** Mesh-wide proxy behaviour. @default { accessLogs: false, outboundTrafficPolicy: "ALLOW_ANY", holdApplicationUntilProxyStarts: true } */
    meshConfig?: IstioMeshConfigArgs;
    /** Sidecar resources. @default requests 100m/128Mi, limits 2000m/1024Mi (Istio's defaults) */
    proxyResources?: ProxyResourcesArgs;
    /** Ingress gateway. @default { enabled: false, serviceType: "LoadBalancer" } */
    gateway?: IstioGatewayArgs;
    /**
     * failurePolicy of Istio's validating webhook, set in both base and istiod values. `Fail` keeps
     * the field stable: left unset, istiod flips it at run time and a later `pulumi up` fights it
     * (pulumi-kubernetes#2210). The price: Istio objects are refused until istiod runs, so they must
     * `dependsOn` {@link IstioControlPlane.ready}. `Ignore` only for clusters where istiod cannot run
     * (API-server-only test clusters). @default "Fail"
     */
    validationFailurePolicy?: ValidationFailurePolicy;
    /**
     * The cluster's Kubernetes version as the stack declares it ("1.33"); when set, an Istio release
     * that does not support it fails validation before anything is registered. @default undefined (not checked)
     */
    kubernetesVersion?: string;
    /**
     * Call istiod's injection and validation webhooks at this URL instead of through the `istiod`
     * Service (the charts' `istiodRemote.injectionURL` and `base.validationURL`, with their CA
     * bundles). Validation then always fails closed. @default undefined (through the Service)
     */
    webhookEndpoint?: IstioWebhookEndpointArgs;
}

/** {@link IstioControlPlaneArgs} with every default applied. */
export interface ResolvedIstioControlPlaneArgs {
    namespace: string;
    createNamespace: boolean;
    version: string;
    repository: string;
    localChartsDir: string | undefined;
    revision: string | undefined;
    trustDomain: string;
    meshConfig: Required<IstioMeshConfigArgs>;
    proxyResources: { requests: Required<ComputeResourcesArgs>; limits: Required<ComputeResourcesArgs> };
    gateway: Required<IstioGatewayArgs>;
    validationFailurePolicy: ValidationFailurePolicy;
    kubernetesVersion: string | undefined;
    webhookEndpoint: IstioWebhookEndpointArgs | undefined;
}

/** The one place where {@link IstioControlPlaneArgs} defaults live. */
export function withDefaults(args: IstioControlPlaneArgs = {}): ResolvedIstioControlPlaneArgs {
    return {
        namespace: args.namespace ?? "istio-system",
        createNamespace: args.createNamespace ?? true,
        version: args.version ?? DEFAULT_ISTIO_VERSION,
        repository: args.repository ?? ISTIO_CHART_REPOSITORY,
        localChartsDir: args.localChartsDir,
        revision: args.revision,
        trustDomain: args.trustDomain ?? PLATFORM_DEFAULTS.trustDomain,
        meshConfig: {
            accessLogs: args.meshConfig?.accessLogs ?? false,
            outboundTrafficPolicy: args.meshConfig?.outboundTrafficPolicy ?? "ALLOW_ANY",
            holdApplicationUntilProxyStarts: args.meshConfig?.holdApplicationUntilProxyStarts ?? true,
        },
        proxyResources: {
            requests: {
                cpu: args.proxyResources?.requests?.cpu ?? "100m",
                memory: args.proxyResources?.requests?.memory ?? "128Mi",
            },
            limits: {
                cpu: args.proxyResources?.limits?.cpu ?? "2000m",
                memory: args.proxyResources?.limits?.memory ?? "1024Mi",
            },
        },
        gateway: {
            enabled: args.gateway?.enabled ?? false,
            serviceType: args.gateway?.serviceType ?? "LoadBalancer",
        },
        validationFailurePolicy: args.validationFailurePolicy ?? "Fail",
        kubernetesVersion: args.kubernetesVersion,
        webhookEndpoint: args.webhookEndpoint,
    };
}

/** Requests and limits of the sidecars: Kubernetes quantities, and no request above its limit (Kubernetes refuses the pod). */
function checkProxyResources(resources: ResolvedIstioControlPlaneArgs["proxyResources"]): Problem[] {
    const problems: Problem[] = [];
    for (const kind of ["requests", "limits"] as const) {
        for (const resource of ["cpu", "memory"] as const) {
            const problem = quantity(resources[kind][resource]);
            if (problem) problems.push({ key: `proxyResources.${kind}.${resource}`, message: problem });
        }
    }
    for (const resource of ["cpu", "memory"] as const) {
        const request = parseQuantity(resources.requests[resource]);
        const limit = parseQuantity(resources.limits[resource]);
        if (request !== undefined && limit !== undefined && request > limit) {
            problems.push({
                key: `proxyResources.requests.${resource}`,
                message: `${given(resources.requests[resource])} is more than the limit ${given(resources.limits[resource])}; a request must not exceed its limit (Kubernetes refuses the pod)`,
            });
        }
    }
    return problems;
}

/** Paths of the three charts inside a local charts folder. */
export interface LocalChartPaths {
    base: string;
    istiod: string;
    gateway: string;
}

/**
 * Finds the charts in a local folder; accepts both the release layout (`istiod/`) and the
 * istio.io/istio module layout (`istio-control/istio-discovery/`).
 * @param exists injectable for tests; a folder counts when it holds a `Chart.yaml`.
 */
export function resolveLocalCharts(
    dir: string,
    exists: (file: string) => boolean = fs.existsSync,
): { paths: LocalChartPaths; missing: string[] } {
    const root = path.resolve(dir);
    const isChart = (folder: string) => exists(path.join(folder, "Chart.yaml"));
    const releaseLayout = path.join(root, "istiod");
    const moduleLayout = path.join(root, "istio-control", "istio-discovery");
    const paths: LocalChartPaths = {
        base: path.join(root, "base"),
        istiod: isChart(releaseLayout) || !isChart(moduleLayout) ? releaseLayout : moduleLayout,
        gateway: path.join(root, "gateway"),
    };
    const missing: string[] = [];
    if (!isChart(paths.base)) missing.push("base/");
    if (!isChart(paths.istiod)) missing.push("istiod/ (or istio-control/istio-discovery/)");
    if (!isChart(paths.gateway)) missing.push("gateway/");
    return { paths, missing };
}


/**
 * Every problem with the arguments, keyed by argument name (e.g. `revision`), so the caller can
 * prefix its own config path. Local chart folders are checked on disk.
 */
export function validateIstioControlPlaneArgs(
    args: ResolvedIstioControlPlaneArgs,
    exists: (file: string) => boolean = fs.existsSync,
): Problem[] {
    const problems: Problem[] = [];
    const namespaceProblem = dnsLabel(args.namespace);
    if (namespaceProblem) problems.push({ key: "namespace", message: namespaceProblem });
    const trustDomainProblem = dnsSubdomain(args.trustDomain);
    if (trustDomainProblem) problems.push({ key: "trustDomain", message: trustDomainProblem });
    problems.push(...checkProxyResources(args.proxyResources));
    if (istioMinor(args.version) === undefined) {
        problems.push({ key: "version", message: `${given(args.version)} is not an Istio release version; use major.minor.patch, e.g. ${given(DEFAULT_ISTIO_VERSION)}` });
    } else if (args.kubernetesVersion !== undefined) {
        const unsupported = checkIstioSupport(args.version, args.kubernetesVersion);
        if (unsupported !== undefined) {
            problems.push({ key: "version", message: unsupported });
        }
    }
    if (args.revision !== undefined && (dnsLabel(args.revision) !== undefined || args.revision.length > 56)) {
        // istiod names its Service "istiod-<revision>", which must stay a label of at most 63 characters.
        problems.push({ key: "revision", message: `${given(args.revision)} is not a revision name; use lowercase letters, digits and '-' (e.g. "1-30-5"), at most 56 characters` });
    }
    const repositoryProblem = chartRepositoryProblem(args.repository);
    if (repositoryProblem) problems.push({ key: "repository", message: repositoryProblem });
    if (args.localChartsDir !== undefined) {
        if (args.repository !== ISTIO_CHART_REPOSITORY) {
            problems.push({ key: "localChartsDir", message: `set together with repository ${given(args.repository)}; choose one chart source` });
        }
        const { missing } = resolveLocalCharts(args.localChartsDir, exists);
        const needed = args.gateway.enabled ? missing : missing.filter((folder) => folder !== "gateway/");
        if (needed.length > 0) {
            // The folder is not echoed: it is resolved to an absolute path, which says more about the machine than the user wrote.
            problems.push({ key: "localChartsDir", message: `has no chart (Chart.yaml) in ${needed.join(", ")}` });
        }
    }
    if (!OUTBOUND_TRAFFIC_POLICIES.includes(args.meshConfig.outboundTrafficPolicy)) {
        problems.push({ key: "meshConfig.outboundTrafficPolicy", message: `${given(args.meshConfig.outboundTrafficPolicy)} is not a policy; use one of ${OUTBOUND_TRAFFIC_POLICIES.join(", ")}` });
    }
    if (args.validationFailurePolicy !== "Fail" && args.validationFailurePolicy !== "Ignore") {
        problems.push({ key: "validationFailurePolicy", message: `${given(args.validationFailurePolicy)} is not a failure policy; use Fail or Ignore` });
    }
    if (args.webhookEndpoint !== undefined) {
        problems.push(...validateWebhookEndpoint(args.webhookEndpoint, args.validationFailurePolicy));
    }
    if (!GATEWAY_SERVICE_TYPES.includes(args.gateway.serviceType)) {
        problems.push({ key: "gateway.serviceType", message: `${given(args.gateway.serviceType)} is not a Service type; use one of ${GATEWAY_SERVICE_TYPES.join(", ")}` });
    }
    return problems;
}

/**
 * A Helm repository the provider may fetch charts from during `preview`: https:// or oci:// with a
 * host name. Refused: plain http, file:// (a local file read) and IP literals such as a cloud
 * metadata address (a PR must not make the preview fetch from inside the network).
 */
function chartRepositoryProblem(repository: string): string | undefined {
    let url: URL | undefined;
    try {
        url = new URL(repository);
    } catch {
        // Reported below.
    }
    if (url !== undefined && (url.username !== "" || url.password !== "")) {
        // Credentials are secrets: the URL is shown without them.
        url.username = "";
        url.password = "";
        return `${given(url.toString())} carries credentials in the URL (not shown); a stack file is no place for them, so use a repository that needs none or a mirror`;
    }
    const host = url?.hostname ?? "";
    const ipLiteral = /^\d+(\.\d+){3}$/.test(host) || host.startsWith("[");
    if (url === undefined || (url.protocol !== "https:" && url.protocol !== "oci:") || host === "" || ipLiteral) {
        return `${given(repository)} is not an allowed chart repository; use an https:// or oci:// URL with a host name (no IP address, no credentials), e.g. ${given(ISTIO_CHART_REPOSITORY)}`;
    }
    return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function validateWebhookEndpoint(endpoint: IstioWebhookEndpointArgs, failurePolicy: ValidationFailurePolicy): Problem[] {
    const problems: Problem[] = [];
    let url: URL | undefined;
    try {
        url = new URL(endpoint.url);
    } catch {
        // Reported below.
    }
    if (url === undefined || url.protocol !== "https:" || (url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "" || endpoint.url.endsWith("/")) {
        problems.push({ key: "webhookEndpoint.url", message: `${given(endpoint.url)} is not a base URL of istiod's webhook server; use https://host:port with no path, e.g. "https://istiod.example.com:15017"` });
    }
    const pem = BASE64.test(endpoint.caBundle) ? Buffer.from(endpoint.caBundle, "base64").toString("utf8") : "";
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
        const shown = endpoint.caBundle.length > 24 ? `${given(endpoint.caBundle.slice(0, 24))}...` : given(endpoint.caBundle);
        problems.push({ key: "webhookEndpoint.caBundle", message: `${shown} is not base64 of PEM certificates; use the output of \`base64 -w0 ca.crt\`` });
    }
    if (failurePolicy !== "Fail") {
        // The charts force Fail whenever a CA bundle is given; saying Ignore would be a promise they break.
        problems.push({ key: "validationFailurePolicy", message: `${given(failurePolicy)} cannot be combined with webhookEndpoint, whose validation webhook always fails closed; use "Fail"` });
    }
    return problems;
}

/** Every problem with unresolved arguments (defaults applied first), keyed by argument name. */
export function checkIstioControlPlaneArgs(args: IstioControlPlaneArgs): Problem[] {
    return validateIstioControlPlaneArgs(withDefaults(args));
}

/**
 * What the modes need from an Istio control plane with these arguments, installed here or already
 * present: its namespace, revision, injection labels and ingress gateway. Principals carry
 * `trustDomain`, as every principal the modes write.
 */
export function istioPlatform(args: IstioControlPlaneArgs): IstioPlatform {
    const resolved = withDefaults(args);
    const gateway = gatewayInfo(resolved.namespace, resolved.gateway.enabled, resolved.trustDomain);
    return {
        namespace: resolved.namespace,
        revision: resolved.revision,
        trustDomain: resolved.trustDomain,
        namespaceInjectionLabels: namespaceInjectionLabels(resolved.revision),
        podInjectionLabels: podInjectionLabels(resolved.revision),
        gateway: gateway.enabled
            ? { namespace: gateway.namespace, selector: gateway.selectorLabels, principal: gateway.principal }
            : undefined,
    };
}

/** Chart values pointing a webhook at {@link IstioWebhookEndpointArgs.url}: validation (base and istiod charts). */
function validationWebhookValues(endpoint: IstioWebhookEndpointArgs | undefined): Record<string, string> {
    return endpoint === undefined ? {} : { validationURL: `${endpoint.url}/validate`, validationCABundle: endpoint.caBundle };
}

/** Labels that turn on sidecar injection for a namespace (with a revision, the revision label selects the istiod). */
export function namespaceInjectionLabels(revision: string | undefined): Record<string, string> {
    return revision === undefined ? { "istio-injection": "enabled" } : { "istio.io/rev": revision };
}

/** Labels that turn on sidecar injection for one pod template. */
export function podInjectionLabels(revision: string | undefined): Record<string, string> {
    return revision === undefined ? { "sidecar.istio.io/inject": "true" } : { "istio.io/rev": revision };
}

/** What other components need to know about the ingress gateway. */
export interface IstioGatewayInfo {
    /** Whether the gateway is installed. */
    enabled: boolean;
    /** Namespace of the gateway's Deployment and Service. */
    namespace: string;
    /** Name of its Deployment, Service and ServiceAccount. */
    name: string;
    /** Pod labels an Istio `Gateway` selects it by. */
    selectorLabels: Record<string, string>;
    /** Its ServiceAccount. */
    serviceAccount: string;
    /** Its SPIFFE principal for AuthorizationPolicy `source.principals`. */
    principal: string;
    /** In-cluster DNS name of its Service. */
    serviceHost: string;
}

/**
 * The gateway's identity, mirroring the gateway chart's helpers: `app` is the name, `istio` is the
 * name without its `istio-` prefix, the ServiceAccount is the name. The principal carries the
 * mesh's trust domain (the one istiod is given).
 */
export function gatewayInfo(namespace: string, enabled: boolean, trustDomain: string = PLATFORM_DEFAULTS.trustDomain): IstioGatewayInfo {
    return {
        enabled,
        namespace,
        name: GATEWAY_NAME,
        selectorLabels: { app: GATEWAY_NAME, istio: GATEWAY_NAME.replace(/^istio-/, "") },
        serviceAccount: GATEWAY_NAME,
        principal: `${trustDomain}/ns/${namespace}/sa/${GATEWAY_NAME}`,
        serviceHost: `${GATEWAY_NAME}.${namespace}.svc.cluster.local`,
    };
}

/** Values of the `base` chart (CRDs, cluster roles, the default-revision validating webhook). */
export function baseValues(args: ResolvedIstioControlPlaneArgs): Record<string, unknown> {
    return {
        // With a revisioned istiod there is no "istiod" Service; the default validator must point at the revision.
        defaultRevision: args.revision ?? "default",
        base: { validationFailurePolicy: args.validationFailurePolicy, ...validationWebhookValues(args.webhookEndpoint) },
        global: { istioNamespace: args.namespace },
    };
}

/** Values of the `istiod` chart. */
export function istiodValues(args: ResolvedIstioControlPlaneArgs): Record<string, unknown> {
    const global: Record<string, unknown> = {
        istioNamespace: args.namespace,
        proxy: { resources: args.proxyResources },
    };
    if (args.localChartsDir !== undefined) {
        // Charts from the istio.io/istio module carry placeholder versions and dev image hubs.
        global.hub = ISTIO_IMAGE_HUB;
        global.tag = args.version;
    }
    const values: Record<string, unknown> = {
        global,
        meshConfig: {
            // The identity istiod issues; AuthorizationPolicy principals are written with the same value.
            trustDomain: args.trustDomain,
            accessLogFile: args.meshConfig.accessLogs ? "/dev/stdout" : "",
            outboundTrafficPolicy: { mode: args.meshConfig.outboundTrafficPolicy },
            defaultConfig: { holdApplicationUntilProxyStarts: args.meshConfig.holdApplicationUntilProxyStarts },
        },
        base: { validationFailurePolicy: args.validationFailurePolicy, ...validationWebhookValues(args.webhookEndpoint) },
        // What the policy pack asks of every workload (docs/policy.md) and the chart leaves out: a
        // memory limit (the chart's requests are kept) and the RuntimeDefault seccomp profile.
        resources: { requests: { cpu: "500m", memory: "2048Mi" }, limits: { memory: "4096Mi" } },
        seccompProfile: { type: "RuntimeDefault" },
    };
    if (args.webhookEndpoint !== undefined) {
        // istiodRemote.enabled stays false: istiod itself is still installed, only the webhooks' address changes.
        values.istiodRemote = { injectionURL: `${args.webhookEndpoint.url}/inject`, injectionCABundle: args.webhookEndpoint.caBundle };
    }
    if (args.revision !== undefined) {
        values.revision = args.revision;
    }
    return values;
}

/** Values of the `gateway` chart. */
export function gatewayValues(args: ResolvedIstioControlPlaneArgs): Record<string, unknown> {
    const values: Record<string, unknown> = {
        // Explicit, so labels and ServiceAccount never depend on the release name.
        name: GATEWAY_NAME,
        service: {
            type: args.gateway.serviceType,
            // The stack asked for this exposure; the policy pack accepts a LoadBalancer that says which setting did.
            ...(args.gateway.serviceType === "LoadBalancer" ? { annotations: { [EXPOSURE_ANNOTATION]: "pluggable-mesh:istio.gateway (enabled, serviceType LoadBalancer)" } } : {}),
        },
        // The chart's default pod securityContext (only the sysctl that lets it bind ports 80 and 443
        // unprivileged), plus the RuntimeDefault seccomp profile the restricted standard asks for.
        securityContext: { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }], seccompProfile: { type: "RuntimeDefault" } },
    };
    if (args.revision !== undefined) {
        values.revision = args.revision;
    }
    return values;
}

/** Where a chart comes from: a repository with a pinned version, or a local folder. */
export function chartSource(
    args: ResolvedIstioControlPlaneArgs,
    chart: keyof LocalChartPaths,
    exists: (file: string) => boolean = fs.existsSync,
): Pick<k8s.helm.v4.ChartArgs, "chart" | "version" | "repositoryOpts"> {
    if (args.localChartsDir !== undefined) {
        // Local charts are versioned 1.0.0 placeholders: no version constraint, the tag comes from values.
        return { chart: resolveLocalCharts(args.localChartsDir, exists).paths[chart] };
    }
    return { chart, version: args.version, repositoryOpts: { repo: args.repository } };
}

/**
 * A chart transform that sets `retainOnDelete` on CustomResourceDefinitions. Istio's base chart
 * templates its CRDs, so Pulumi manages them like any object: renaming or removing the chart would
 * delete them, and with them every Istio object in the cluster. Retained CRDs leave the cluster
 * only by hand.
 */
export const retainCustomResourceDefinitions: pulumi.ResourceTransform = (args) => {
    if (args.type !== CRD_TYPE) {
        return undefined;
    }
    return { props: args.props, opts: pulumi.mergeOptions(args.opts, { retainOnDelete: true }) };
};

/**
 * Istio's control plane from its Helm charts: `base` (CRDs, cluster RBAC, validation webhook),
 * then `istiod`, then optionally the `gateway` chart, one version for all three.
 *
 * - CRDs are retained on delete (a `transforms` option on the charts, see
 *   {@link retainCustomResourceDefinitions}): removing this component leaves them, and every Istio
 *   object, in the cluster.
 * - Istio objects (PeerAuthentication, VirtualService, ...) must `dependsOn` {@link ready}: the
 *   validating webhook is in `Fail` mode and refuses them until istiod serves it.
 * - All Helm values are plain, so `pulumi preview` shows every rendered object.
 */
export class IstioControlPlane extends pulumi.ComponentResource {
    /** Namespace of istiod (and the gateway). */
    readonly namespace: string;
    /** Istio release installed. */
    readonly version: string;
    /** Control plane revision, when one is set. */
    readonly revision: string | undefined;
    /** Labels that enable injection on a namespace. */
    readonly namespaceInjectionLabels: Record<string, string>;
    /** Labels that enable injection on a pod template. */
    readonly podInjectionLabels: Record<string, string>;
    /** The ingress gateway's identity (also when disabled, so callers can say what is missing). */
    readonly gateway: IstioGatewayInfo;
    /** Depend on this (the istiod chart) before creating Istio objects: it is done when istiod is ready. */
    readonly ready: pulumi.Resource;
    /** What apps need from this control plane: pass it as GovernedApp's `platform.istio`. */
    readonly platform: IstioPlatformArgs;

    constructor(name: string, args: IstioControlPlaneArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        // Validate before registering anything, the component included.
        const resolved = withDefaults(args);
        failOnProblems(
            validateIstioControlPlaneArgs(resolved).map((problem) => ({ ...problem, key: `${name}.${problem.key}` })),
        );
        super("pluggable-mesh:istio:IstioControlPlane", name, {}, opts);

        const namespace = resolved.createNamespace
            ? [new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: resolved.namespace } }, { parent: this })]
            : [];
        const chartOptions = (dependsOn: pulumi.Resource[]): pulumi.ComponentResourceOptions => ({
            parent: this,
            dependsOn,
            transforms: [retainCustomResourceDefinitions],
        });

        const base = new k8s.helm.v4.Chart(
            `${name}-base`,
            {
                ...chartSource(resolved, "base"),
                name: RELEASE_NAMES.base,
                namespace: resolved.namespace,
                values: baseValues(resolved),
            },
            chartOptions(namespace),
        );
        const istiod = new k8s.helm.v4.Chart(
            `${name}-istiod`,
            {
                ...chartSource(resolved, "istiod"),
                name: RELEASE_NAMES.istiod,
                namespace: resolved.namespace,
                values: istiodValues(resolved),
            },
            chartOptions([base]),
        );
        if (resolved.gateway.enabled) {
            new k8s.helm.v4.Chart(
                `${name}-gateway`,
                {
                    ...chartSource(resolved, "gateway"),
                    name: RELEASE_NAMES.gateway,
                    namespace: resolved.namespace,
                    values: gatewayValues(resolved),
                },
                // The gateway's pods are injected by istiod; without it they never become ready.
                chartOptions([istiod]),
            );
        }

        this.namespace = resolved.namespace;
        this.version = resolved.version;
        this.revision = resolved.revision;
        this.namespaceInjectionLabels = namespaceInjectionLabels(resolved.revision);
        this.podInjectionLabels = podInjectionLabels(resolved.revision);
        this.gateway = gatewayInfo(resolved.namespace, resolved.gateway.enabled, resolved.trustDomain);
        this.ready = istiod;
        this.platform = { ...istioPlatform(args), ready: istiod };

        this.registerOutputs({
            namespace: this.namespace,
            version: this.version,
            revision: this.revision,
            namespaceInjectionLabels: this.namespaceInjectionLabels,
            podInjectionLabels: this.podInjectionLabels,
            gateway: this.gateway,
        });
    }
}
