import { runsToCompletion, serviceFqdn, VERSION_LABEL, type AppModel, type ComponentModel, type ComponentRef, type DependentRef, type ResolvedPort, durationString, isHttpProtocol, type TrafficPolicy, type Problem, keyedByName, type Manifest, type ExternalTarget, type ExternalProtocol } from "../model";
import { declaredExternalAddresses, describeComponent, externalObjectName, serviceDnsAddresses, splitWarnings } from "./shared";
import { type IstioPlatform, type MeshMode, type ModeNetwork, type Platform } from "./mode";
import { PERMISSIVE_REASON_ANNOTATION } from "../../policy/contract";

/**
 * Istio: sidecar injection by label (namespace and pod), `app`/`version` labels for Kiali, and the
 * app's policies as Istio objects: PeerAuthentication (mTLS), AuthorizationPolicy (only declared
 * callers), DestinationRule (connection pool, outlier detection) and VirtualService (timeouts,
 * retries). Components reach each other by Service DNS name.
 */

const MODE = "istio";

/** Pod annotation that makes istiod inject its proxy as a native sidecar (istio/api annotations.yaml, Alpha). */
export const ISTIO_NATIVE_SIDECAR_ANNOTATION = "sidecar.istio.io/nativeSidecar";

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

/** The component's ports published on its LoadBalancer or NodePort Service (`publish`): clients outside the mesh, from anywhere. */
function publishedPorts(component: ComponentModel): ResolvedPort[] {
    const published = new Set((component.spec.publish?.ports ?? []).map((entry) => entry.port));
    return component.ports.filter((port) => published.has(port.name));
}

/** Why a STRICT component accepts plaintext on some ports, for the PeerAuthentication's reason annotation. */
function plaintextReasons(component: ComponentModel): string[] {
    const published = publishedPorts(component);
    return [
        ...(plaintextPorts(component).length > 0 ? [`callers outside the Istio mesh: ${describePlaintextCallers(component)}`] : []),
        ...(published.length > 0 ? [`published on Service ${component.spec.publish!.type} ${component.serviceName}-public: ${published.map((port) => `port ${port.targetPort} (${port.name})`).join(", ")}`] : []),
    ];
}

/**
 * One PeerAuthentication per component, selecting its pods only: Istio gives a workload matched by
 * two workload-selector policies the oldest one, so an app-wide policy beside per-component
 * exceptions would be ambiguous. Under STRICT, the ports out-of-mesh callers declared and the
 * published ports are PERMISSIVE (port-level) and every other port stays STRICT.
 */
function peerAuthentication(component: ComponentModel, app: AppModel): Manifest {
    const openNames = new Set([...plaintextPorts(component), ...publishedPorts(component)].map((port) => port.name));
    const open = app.mtls === "STRICT" ? component.ports.filter((port) => openNames.has(port.name)) : [];
    return {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: {
            name: component.serviceName,
            namespace: component.namespace,
            ...(open.length > 0 ? { annotations: { [PERMISSIVE_REASON_ANNOTATION]: plaintextReasons(component).join("; ") } } : {}),
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
    return {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: component.serviceName, namespace: component.namespace },
        spec: { host, trafficPolicy: trafficPolicyOf(traffic), ...versionSubsets(component) },
    };
}

/** Connection limits and outlier detection, as a DestinationRule's trafficPolicy. */
function trafficPolicyOf(traffic: TrafficPolicy): Record<string, unknown> {
    const breaker = traffic.circuitBreaker;
    return {
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
    return { route: destinations(component, host, port), ...routeTiming(component.traffic) };
}

/** A route's timeout (retries included) and retry policy. */
function routeTiming(traffic: TrafficPolicy): Record<string, unknown> {
    const retries = traffic.retries;
    return {
        timeout: durationString(traffic.timeoutMs),
        retries:
            retries.attempts > 0
                ? { attempts: retries.attempts, perTryTimeout: durationString(retries.perTryTimeoutMs), retryOn: retries.retryOn.join(",") }
                : { attempts: 0 },
    };
}

/** ServiceEntry port protocols (Istio's names): plaintext HTTP is routed, https and tls are passed through by SNI. */
const SERVICE_ENTRY_PROTOCOL: Record<ExternalProtocol, string> = { http: "HTTP", http2: "HTTP2", grpc: "GRPC", tcp: "TCP", https: "HTTPS", tls: "TLS" };

/** istioctl analyze skips the codes listed in this annotation of an object. */
const ANALYZE_SUPPRESS = "galley.istio.io/analyze-suppress";

/**
 * The external's name in Istio's registry: its DNS name, or for an IPv4 address a name of ours
 * (`<name>.<namespace>.external`), since Istio refuses an all-numeric top-level label in hosts;
 * the address itself goes in `addresses` and `endpoints`, so traffic to it still matches.
 */
function registryHost(external: ExternalTarget): string {
    return external.hostKind === "ipv4" ? `${external.name}.${external.namespace}.external` : external.host;
}

/**
 * TCP ports of an external found by DNS. A sidecar tells plain TCP destinations apart only by IP,
 * and the app resolves the name to the provider's IP, not to an address Istio allocated, unless the
 * sidecars capture DNS (`ISTIO_META_DNS_CAPTURE`). istioctl analyze flags such an entry (IST0134);
 * the mode says so to the user instead, in words that name the external.
 */
function unroutedTcp(external: ExternalTarget): string[] {
    return external.hostKind === "dns" ? external.ports.filter((port) => port.protocol === "tcp").map((port) => port.name) : [];
}

/**
 * An external in Istio's registry: a MESH_EXTERNAL ServiceEntry with its ports and protocols (found
 * by DNS, or a STATIC endpoint for an IPv4 address), a DestinationRule with the connection limits
 * and outlier detection, and for HTTP ports a VirtualService with timeout and retries. Every one is
 * exported to the app's own namespace only: only its components may use it, and a spec must not
 * re-route another team's traffic to the same host.
 */
function externalObjects(external: ExternalTarget): Manifest[] {
    const metadata = { name: externalObjectName(external), namespace: external.namespace };
    const exportTo = ["."];
    const byIp = external.hostKind === "ipv4";
    const host = registryHost(external);
    const objects: Manifest[] = [
        {
            apiVersion: "networking.istio.io/v1",
            kind: "ServiceEntry",
            metadata: unroutedTcp(external).length > 0 ? { ...metadata, annotations: { [ANALYZE_SUPPRESS]: "IST0134" } } : metadata,
            spec: {
                hosts: [host],
                ...(byIp ? { addresses: [external.host] } : {}),
                location: "MESH_EXTERNAL",
                ports: external.ports.map((port) => ({ number: port.port, name: port.name, protocol: SERVICE_ENTRY_PROTOCOL[port.protocol] })),
                resolution: byIp ? "STATIC" : "DNS",
                ...(byIp ? { endpoints: [{ address: external.host }] } : {}),
                exportTo,
            },
        },
        { apiVersion: "networking.istio.io/v1", kind: "DestinationRule", metadata, spec: { host, trafficPolicy: trafficPolicyOf(external.traffic), exportTo } },
    ];
    const httpPorts = external.ports.filter((port) => port.protocol !== "https" && port.protocol !== "tls" && isHttpProtocol(port.protocol));
    if (httpPorts.length > 0) {
        objects.push({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata,
            spec: {
                hosts: [host],
                exportTo,
                http: httpPorts.map((port) => ({ match: [{ port: port.port }], route: [{ destination: { host, port: { number: port.port } } }], ...routeTiming(external.traffic) })),
            },
        });
    }
    return objects;
}

function virtualService(component: ComponentModel, host: string): Manifest[] {
    const httpPorts = component.ports.filter((port) => isHttpProtocol(port.protocol));
    if (httpPorts.length === 0) return [];
    // A Service with several ports needs the port in each destination (istioctl analyze IST0112):
    // one route per HTTP port, matched by the port the caller dialled.
    const http =
        component.ports.length === 1 ? [httpRoute(component, host)] : httpPorts.map((port) => ({ match: [{ port: port.port }], ...httpRoute(component, host, port.port) }));
    return [
        {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: component.serviceName, namespace: component.namespace },
            spec: { hosts: [host], http },
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
    // Published ports take clients from outside the mesh (a load balancer, a node port): no identity to check, so anyone.
    const published = publishedPorts(component).map((port) => String(port.targetPort));
    if (published.length > 0) rules.push({ to: [{ operation: { ports: published } }] });
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
    // Without istio-cni, injection adds istio-init, which sets up the pod's iptables as root with
    // NET_ADMIN and NET_RAW: outside baseline's capabilities (Istio: "Application Requirements").
    podSecurity: () => ({ level: "privileged", reason: "mode istio injects istio-init, which needs NET_ADMIN and NET_RAW (no istio-cni)" }),
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
            objects: keyedByName(app.externals.flatMap(externalObjects)),
            warnings: [
                ...fallbacks(app).map(
                    (component) =>
                        `${describeComponent(component)}: mtls STRICT, but callers outside the Istio mesh have no identity: plaintext is accepted from ${describePlaintextCallers(component)}; ${who}; every other port stays STRICT until they move to mode istio`,
                ),
                ...app.externals.flatMap((external) =>
                    unroutedTcp(external).map(
                        (port) =>
                            `app "${app.name}": mode istio applies external "${external.name}"'s policy on tcp port "${port}" only when sidecars capture DNS (meshConfig.defaultConfig.proxyMetadata ISTIO_META_DNS_CAPTURE "true"): a plain TCP connection is told apart by IP and the app resolves ${external.host} itself, so otherwise it passes through unmanaged (outboundTrafficPolicy ALLOW_ANY) or is blocked (REGISTRY_ONLY)`,
                    ),
                ),
                ...(app.mtls === "STRICT" ? app.components.filter((component) => publishedPorts(component).length > 0) : []).map(
                    (component) =>
                        `${describeComponent(component)}: mode istio accepts plaintext from outside the mesh on published container port(s) ${publishedPorts(component).map((port) => port.targetPort).join(", ")} (PeerAuthentication portLevelMtls PERMISSIVE, and an AuthorizationPolicy rule for any source); an HTTP port exposed through the ingress gateway (expose) keeps mTLS and the traffic policy instead`,
                ),
            ],
        };
    },
    decorateComponent(component, app, platform) {
        const istio = platform.istio!;
        const host = serviceFqdn(component.serviceName, component.namespace, platform.clusterDomain);
        const hasPorts = component.ports.length > 0;
        return {
            addresses: serviceDnsAddresses(component, platform),
            // The app dials the external's own name; the sidecar intercepts it and applies the ServiceEntry's policy.
            externalAddresses: declaredExternalAddresses(component),
            pod: {
                labels: { app: component.component, version: component.workloads[0]!.version, ...istio.podInjectionLabels },
                // Pods that run to completion get istiod's proxy as a native sidecar, so they can finish: the annotation wins over
                // istiod's ENABLE_NATIVE_SIDECARS, whose default ("auto") enables it only when every node runs kubelet 1.33+.
                annotations: runsToCompletion(component.spec) ? ({ [ISTIO_NATIVE_SIDECAR_ANNOTATION]: "true" } as Record<string, string>) : {},
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
