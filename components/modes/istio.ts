import { serviceFqdn, VERSION_LABEL, type AppModel, type ComponentModel, type ComponentRef, durationString, isHttpProtocol, type TrafficPolicy, type Problem, keyedByName, type Manifest } from "../model";
import { describeComponent, serviceDnsAddresses } from "./shared";
import { type IstioPlatform, type MeshMode, type ModeNetwork, type Platform } from "./mode";

/**
 * Istio: sidecar injection by label (namespace and pod), `app`/`version` labels for Kiali, and the
 * app's policies as Istio objects: PeerAuthentication (mTLS), AuthorizationPolicy (only declared
 * callers), DestinationRule (connection pool, outlier detection) and VirtualService (timeouts,
 * retries). Components reach each other by Service DNS name.
 */

const MODE = "istio";

/** istiod's xDS and certificate port, the one every sidecar dials (Istio's "Ports used by Istio"). */
const ISTIOD_XDS_PORT = 15012;
/** The sidecar's merged Prometheus endpoint that injection points `prometheus.io/port` at. */
const SIDECAR_METRICS_PORT = 15020;

/**
 * The sidecar takes inbound traffic on the app's own port (iptables redirect inside the pod), so
 * NetworkPolicies see that port; Prometheus scrapes 15020; exposure comes through the ingress
 * gateway; sidecars dial istiod.
 */
const network: ModeNetwork = {
    podPorts: (_component, port) => [port.targetPort],
    metricsPorts: () => [SIDECAR_METRICS_PORT],
    exposureSources: (_component, platform) => {
        const gateway = platform.istio?.gateway;
        return gateway ? [{ namespace: gateway.namespace, podSelector: gateway.selector }] : [];
    },
    controlPlaneEgress: (platform) =>
        platform.istio ? [{ peers: [{ namespace: platform.istio.namespace, podSelector: { app: "istiod" } }], ports: [{ port: ISTIOD_XDS_PORT, protocol: "TCP" }] }] : [],
};

function principalOf(ref: ComponentRef, platform: Platform): string {
    return `${platform.trustDomain}/ns/${ref.namespace}/sa/${ref.serviceAccountName}`;
}

/** Callers outside Istio's mesh (other modes) carry no Istio identity and cannot use mTLS. */
function callersOutsideMesh(app: AppModel): { callee: ComponentModel; caller: ComponentRef }[] {
    return app.components.flatMap((callee) => callee.dependents.filter((caller) => caller.mode !== MODE).map((caller) => ({ callee, caller })));
}

function destinationRule(component: ComponentModel, host: string, traffic: TrafficPolicy): Manifest {
    const breaker = traffic.circuitBreaker;
    return {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: component.serviceName, namespace: component.namespace },
        spec: {
            host,
            trafficPolicy: {
                connectionPool: {
                    tcp: { maxConnections: breaker.maxConnections, connectTimeout: durationString(traffic.connectTimeoutMs) },
                    http: { http1MaxPendingRequests: breaker.maxPendingRequests, http2MaxRequests: breaker.maxRequests },
                },
                outlierDetection: {
                    consecutive5xxErrors: breaker.consecutiveErrors,
                    interval: durationString(breaker.intervalMs),
                    baseEjectionTime: durationString(breaker.baseEjectionTimeMs),
                    maxEjectionPercent: breaker.maxEjectionPercent,
                },
            },
            ...versionSubsets(component),
        },
    };
}

/** One subset per declared version, selected by the label each version's Deployment selects (the same in every mode). */
function versionSubsets(component: ComponentModel): { subsets?: Record<string, unknown>[] } {
    const versioned = component.workloads.filter((workload) => workload.keySuffix !== "");
    return versioned.length === 0 ? {} : { subsets: versioned.map((workload) => ({ name: workload.version, labels: { [VERSION_LABEL]: workload.version } })) };
}

/** The route's destinations: the Service, or its versions' subsets with the declared weights. */
function destinations(component: ComponentModel, host: string, port?: number): Record<string, unknown>[] {
    const target = { host, ...(port === undefined ? {} : { port: { number: port } }) };
    if (!component.split) return [{ destination: target }];
    return component.split.map(({ version, weight }) => ({ destination: { ...target, subset: version }, weight }));
}

function httpRoute(component: ComponentModel, host: string, port?: number): Record<string, unknown> {
    const traffic = component.traffic;
    const retries = traffic.retries;
    return {
        route: destinations(component, host, port),
        timeout: durationString(traffic.timeoutMs),
        retries:
            retries.attempts > 0
                ? { attempts: retries.attempts, perTryTimeout: durationString(retries.perTryTimeoutMs), retryOn: retries.retryOn.join(",") }
                : { attempts: 0 },
    };
}

function virtualService(component: ComponentModel, host: string): Manifest[] {
    if (!component.ports.some((port) => isHttpProtocol(port.protocol))) return [];
    return [
        {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: component.serviceName, namespace: component.namespace },
            spec: { hosts: [host], http: [httpRoute(component, host)] },
        },
    ];
}

function authorizationPolicy(component: ComponentModel, platform: Platform, istio: IstioPlatform): Manifest[] {
    if (component.ports.length === 0) return [];
    const meshCallers = component.dependents.filter((caller) => caller.mode === MODE);
    const principals = meshCallers.map((caller) => principalOf(caller, platform));
    if (component.exposed && istio.gateway) principals.push(istio.gateway.principal);
    const sources: Record<string, unknown>[] = [];
    if (principals.length > 0) sources.push({ source: { principals: [...new Set(principals)].sort() } });
    // Plaintext callers from other modes have no principal; admitting "no principal" is the narrowest rule that still lets them in.
    if (component.dependents.some((caller) => caller.mode !== MODE)) sources.push({ source: { notPrincipals: ["*"] } });
    const ports = component.ports.map((port) => String(port.targetPort));
    return [
        {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: component.serviceName, namespace: component.namespace },
            spec: {
                selector: { matchLabels: component.selectorLabels },
                action: "ALLOW",
                // No sources means no rule matches, which denies every caller: right for a component nobody declared a dependency on.
                rules: sources.map((from) => ({ from: [from], to: [{ operation: { ports } }] })),
            },
        },
    ];
}

function exposure(component: ComponentModel, host: string, istio: IstioPlatform): Manifest[] {
    const expose = component.spec.expose;
    if (!expose || !istio.gateway) return [];
    const port = component.ports.find((candidate) => candidate.name === expose.port)!;
    const gatewayName = `${component.serviceName}-ingress`;
    return [
        {
            apiVersion: "networking.istio.io/v1",
            kind: "Gateway",
            metadata: { name: gatewayName, namespace: component.namespace },
            spec: { selector: istio.gateway.selector, servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: [expose.host] }] },
        },
        {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: gatewayName, namespace: component.namespace },
            spec: {
                hosts: [expose.host],
                gateways: [gatewayName],
                http: [{ match: [{ uri: { prefix: expose.path } }], ...httpRoute(component, host, port.port) }],
            },
        },
    ];
}

export const istioMode: MeshMode = {
    name: MODE,
    summary: "Istio sidecars by injection label; mTLS, authorization and traffic policy as Istio objects",
    requirements(app, platform) {
        const problems: Problem[] = [];
        if (!platform.istio) {
            problems.push({
                key: "pluggable-mesh:istio.controlPlane",
                message: `app "${app.name}" uses mode istio, but the stack has no Istio control plane; set it to "install" (or "existing" for one already in the cluster)`,
            });
        } else if (!platform.istio.gateway) {
            for (const component of app.components.filter((candidate) => candidate.exposed)) {
                problems.push({
                    key: "pluggable-mesh:istio.gateway.enabled",
                    message: `${describeComponent(component)} is exposed and mode istio exposes through the Istio ingress gateway; set it to true`,
                });
            }
        }
        return problems;
    },
    decorateApp(app, platform) {
        const istio = platform.istio!;
        const outside = callersOutsideMesh(app);
        const fallBack = app.mtls === "STRICT" && outside.length > 0;
        const warnings = fallBack
            ? [
                  `app "${app.name}": mtls STRICT would reject callers outside the Istio mesh (${outside
                      .map(({ callee, caller }) => `${caller.app}/${caller.component} (mode ${caller.mode}) calls ${describeComponent(callee)}`)
                      .join("; ")}); using PERMISSIVE until they move to mode istio`,
              ]
            : [];
        return {
            namespaceLabels: istio.namespaceInjectionLabels,
            namespaceAnnotations: {},
            objects: keyedByName([
                {
                    apiVersion: "security.istio.io/v1",
                    kind: "PeerAuthentication",
                    metadata: { name: app.name, namespace: app.namespace },
                    spec: { selector: { matchLabels: { "app.kubernetes.io/instance": app.name } }, mtls: { mode: fallBack ? "PERMISSIVE" : app.mtls } },
                },
            ]),
            warnings,
        };
    },
    decorateComponent(component, _app, platform) {
        const istio = platform.istio!;
        const host = serviceFqdn(component.serviceName, component.namespace, platform.clusterDomain);
        const hasPorts = component.ports.length > 0;
        return {
            addresses: serviceDnsAddresses(component, platform),
            pod: {
                labels: { app: component.component, version: component.workloads[0]!.version, ...istio.podInjectionLabels },
                annotations: {},
                sidecars: [],
                volumes: [],
                sidecarServesPorts: false,
                versionLabel: "version",
            },
            serviceAnnotations: {},
            objects: keyedByName([
                ...(hasPorts ? [destinationRule(component, host, component.traffic), ...virtualService(component, host)] : []),
                ...authorizationPolicy(component, platform, istio),
                ...exposure(component, host, istio),
            ]),
            warnings: [],
        };
    },
    network,
};
