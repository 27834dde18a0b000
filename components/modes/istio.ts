import { serviceFqdn, VERSION_LABEL, type AppModel, type ComponentModel, type ComponentRef, type DependentRef, type ResolvedPort, durationString, isHttpProtocol, type TrafficPolicy, type Problem, keyedByName, type Manifest } from "../model";
import { describeComponent, serviceDnsAddresses, splitWarnings } from "./shared";
import { type IstioPlatform, type MeshMode, type ModeNetwork, type Platform } from "./mode";
import { PERMISSIVE_REASON_ANNOTATION } from "../../policy/contract";

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

/** The stack key that lets a production stack open STRICT components to plaintext callers. */
const ALLOW_PLAINTEXT_KEY = "pluggable-mesh:istio.allowPlaintextCallers";

/** Callers outside Istio's mesh (other modes) carry no Istio identity and cannot use mTLS. */
function plaintextCallers(component: ComponentModel): DependentRef[] {
    return component.dependents.filter((caller) => caller.mode !== MODE);
}

/** The component's ports that callers outside the mesh declared: the only ones that accept plaintext. */
function plaintextPorts(component: ComponentModel): ResolvedPort[] {
    const called = new Set(plaintextCallers(component).flatMap((caller) => caller.calledPorts.map((port) => port.name)));
    return component.ports.filter((port) => called.has(port.name));
}

/** STRICT components whose out-of-mesh callers need plaintext on some ports. */
function fallbacks(app: AppModel): ComponentModel[] {
    return app.mtls === "STRICT" ? app.components.filter((component) => plaintextPorts(component).length > 0) : [];
}

/** Which port (by the number the pod receives it on, and its name) each out-of-mesh caller reaches plaintext. */
function describePlaintextCallers(component: ComponentModel): string {
    return plaintextCallers(component)
        .map((caller) => `${caller.app}/${caller.component} (mode ${caller.mode}) on ${caller.calledPorts.map((port) => `port ${port.targetPort} (${port.name})`).join(", ")}`)
        .join("; ");
}

/**
 * One PeerAuthentication per component, selecting its pods only: Istio gives a workload matched by
 * two workload-selector policies the oldest one, so an app-wide policy beside per-component
 * exceptions would be ambiguous. Under STRICT, the ports out-of-mesh callers declared are
 * PERMISSIVE (port-level) and every other port stays STRICT.
 */
function peerAuthentication(component: ComponentModel, app: AppModel): Manifest {
    const open = app.mtls === "STRICT" ? plaintextPorts(component) : [];
    return {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: {
            name: component.serviceName,
            namespace: component.namespace,
            ...(open.length > 0 ? { annotations: { [PERMISSIVE_REASON_ANNOTATION]: `callers outside the Istio mesh: ${describePlaintextCallers(component)}` } } : {}),
        },
        spec: {
            selector: { matchLabels: component.selectorLabels },
            mtls: { mode: app.mtls },
            // Keys are the workload's own (container) ports, as Istio's portLevelMtls expects.
            ...(open.length > 0 ? { portLevelMtls: Object.fromEntries(open.map((port) => [String(port.targetPort), { mode: "PERMISSIVE" }])) } : {}),
        },
    };
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
    const ports = component.ports.map((port) => String(port.targetPort));
    const rules: Record<string, unknown>[] = [];
    if (principals.length > 0) rules.push({ from: [{ source: { principals: [...new Set(principals)].sort() } }], to: [{ operation: { ports } }] });
    // Plaintext callers from other modes have no principal: "no principal" is admitted on the ports they declared only, and the NetworkPolicy names who may connect there.
    const open = plaintextPorts(component).map((port) => String(port.targetPort));
    if (open.length > 0) rules.push({ from: [{ source: { notPrincipals: ["*"] } }], to: [{ operation: { ports: open } }] });
    return [
        {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: component.serviceName, namespace: component.namespace },
            spec: {
                selector: { matchLabels: component.selectorLabels },
                action: "ALLOW",
                // No rules means none matches, which denies every caller: right for a component nobody declared a dependency on.
                rules,
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
        if (platform.istio?.refusePlaintextCallers) {
            for (const component of fallbacks(app)) {
                problems.push({
                    key: ALLOW_PLAINTEXT_KEY,
                    message: `${describeComponent(component)} has mtls STRICT in a production stack, but callers outside the Istio mesh would need plaintext: ${describePlaintextCallers(component)}; move them to mode istio, or set this key to true to open exactly those ports to them`,
                });
            }
        }
        return problems;
    },
    decorateApp(app, platform) {
        const istio = platform.istio!;
        const who = platform.networkPolicies === "off" ? "NetworkPolicies are off, so any pod without a sidecar can connect there" : "its NetworkPolicy admits only its declared callers there";
        return {
            namespaceLabels: istio.namespaceInjectionLabels,
            namespaceAnnotations: {},
            objects: [],
            warnings: fallbacks(app).map(
                (component) =>
                    `${describeComponent(component)}: mtls STRICT, but callers outside the Istio mesh have no identity: plaintext is accepted from ${describePlaintextCallers(component)}; ${who}; every other port stays STRICT until they move to mode istio`,
            ),
        };
    },
    decorateComponent(component, app, platform) {
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
                peerAuthentication(component, app),
                ...authorizationPolicy(component, platform, istio),
                ...exposure(component, host, istio),
            ]),
            // The gateway's VirtualService carries the split, so exposure honours it.
            warnings: splitWarnings(component, MODE, true),
        };
    },
    network,
};
