import { durationString, runsToCompletion, isHttpProtocol, keyedByName, kubeName, type ComponentModel, type Manifest, type TrafficPolicy } from "../model";
import { declaredExternalAddresses, describeComponent, externalsWithDeclaredTraffic, splitWarnings, ingressFor, serviceDnsAddresses } from "./shared";
import { PLAIN_NETWORK, type MeshMode, type ModeNetwork } from "./mode";

/**
 * Linkerd: the `linkerd.io/inject` annotation on the namespace and the pod template, opaque ports
 * for TCP (Linkerd cannot detect server-speaks-first protocols such as MySQL), and the traffic
 * policy as Linkerd 2.16+ Service annotations (request timeout, retries, consecutive-failure
 * accrual), and a split between versions as weighted HTTPRoute backends. Linkerd's own mTLS is
 * always on between meshed pods. Not supported, and reported as a
 * warning: authorization (Server/AuthorizationPolicy CRDs), STRICT mTLS for unmeshed callers, and
 * connection-pool limits (max connections, pending requests).
 */

const INJECT = { "linkerd.io/inject": "enabled" };

/**
 * Linkerd's proxy as a native sidecar, so pods that run to completion can finish. The annotation
 * was renamed twice: `config.alpha` (edge-23.11.4 and 2.15 on), `config.beta` (edge,
 * linkerd2#14587) and `config.linkerd.io` (2.20, where native is the default, linkerd2#15267).
 * Each version reads its own name and ignores the others, so all three are set.
 */
export const LINKERD_NATIVE_SIDECAR_ANNOTATIONS = {
    "config.alpha.linkerd.io/proxy-enable-native-sidecar": "true",
    "config.beta.linkerd.io/proxy-enable-native-sidecar": "true",
    "config.linkerd.io/proxy-enable-native-sidecar": "true",
};

/**
 * Where a Linkerd proxy connects to its control plane: identity (8080), destination (8086) and
 * policy (8090), the ports the proxy injector hands every proxy (LINKERD2_PROXY_*_SVC_ADDR).
 */
const CONTROL_PLANE_PORTS = [8080, 8086, 8090];

/**
 * The proxy's inbound port: between two meshed pods the caller's proxy replaces the target port
 * with it, so a NetworkPolicy that does not admit it blocks all meshed traffic (Linkerd's
 * "Network Policy" page, https://linkerd.io/2/common-errors/network-policy).
 */
const PROXY_INBOUND_PORT = 4143;

/**
 * Linkerd's proxy takes inbound traffic on the app's own port from unmeshed callers (iptables
 * redirect inside the pod) and on 4143 from meshed ones. Our Prometheus does not scrape Linkerd proxies (they carry no
 * prometheus.io annotations); linkerd-viz's tap and Prometheus are not admitted.
 */
const network: ModeNetwork = {
    ...PLAIN_NETWORK,
    podPorts: (_component, port) => [port.targetPort, PROXY_INBOUND_PORT],
    controlPlaneEgress: (platform) =>
        platform.linkerd ? [{ peers: [{ namespace: platform.linkerd.namespace }], ports: CONTROL_PLANE_PORTS.map((port) => ({ port, protocol: "TCP" as const })) }] : [],
};

/** Timeout and retries of HTTP requests, as Linkerd 2.16+ reads them from a Service or a route. */
function requestAnnotations(traffic: TrafficPolicy): Record<string, string> {
    return {
        "timeout.linkerd.io/request": durationString(traffic.timeoutMs),
        ...(traffic.retries.attempts > 0
            ? {
                  "retry.linkerd.io/http": "5xx",
                  "retry.linkerd.io/limit": String(traffic.retries.attempts),
                  "retry.linkerd.io/timeout": durationString(traffic.retries.perTryTimeoutMs),
              }
            : {}),
    };
}

/**
 * A split between versions as Gateway API HTTPRoutes, Linkerd's traffic-splitting mechanism: one
 * per port, attached to the component's Service (callers keep dialling it), with a weighted
 * backend per version, that version's headless Service. Route annotations override the Service's
 * timeout and retry annotations, so the route repeats them.
 */
function splitRoutes(component: ComponentModel): Manifest[] {
    const split = component.split;
    if (!split) return [];
    return component.ports.map((port) => ({
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: kubeName(component.serviceName, port.name), namespace: component.namespace, annotations: requestAnnotations(component.traffic) },
        spec: {
            parentRefs: [{ group: "core", kind: "Service", name: component.serviceName, port: port.port }],
            rules: [
                {
                    backendRefs: split.map(({ version, weight }) => ({
                        name: component.workloads.find((workload) => workload.version === version)!.headlessServiceName!,
                        port: port.port,
                        weight,
                    })),
                },
            ],
        },
    }));
}

export const linkerdMode: MeshMode = {
    name: "linkerd",
    summary: "Linkerd proxies by annotation; timeouts, retries and failure accrual as Service annotations",
    requirements(app, platform) {
        return platform.linkerd
            ? []
            : [
                  {
                      key: "pluggable-mesh:linkerd.controlPlane",
                      message: `app "${app.name}" uses mode linkerd, but the stack declares no Linkerd control plane; install Linkerd and set it to "existing"`,
                  },
              ];
    },
    decorateApp(app) {
        const declared = app.components.filter((component) => component.trafficDeclared).map(describeComponent);
        return {
            namespaceLabels: {},
            namespaceAnnotations: INJECT,
            objects: [],
            warnings: [
                `app "${app.name}": mode linkerd does not restrict who may call whom (declared dependencies are not turned into Linkerd authorization policies)`,
                ...(app.mtls === "STRICT" ? [`app "${app.name}": mode linkerd encrypts meshed traffic but does not reject plaintext callers; mtls STRICT is not enforced`] : []),
                ...(declared.length > 0
                    ? [`app "${app.name}": mode linkerd has no connection-pool limits (maxConnections, maxPendingRequests, maxRequests); not applied for ${declared.join(", ")}`]
                    : []),
                ...(externalsWithDeclaredTraffic(app).length > 0
                    ? [`app "${app.name}": mode linkerd applies no traffic policy to services outside the cluster (it annotates only in-cluster Services); not applied for ${externalsWithDeclaredTraffic(app).join(", ")}`]
                    : []),
            ],
        };
    },
    decorateComponent(component, app, platform) {
        const opaquePorts = component.ports.filter((port) => !isHttpProtocol(port.protocol));
        const opaque: Record<string, string> = opaquePorts.length > 0 ? { "config.linkerd.io/opaque-ports": opaquePorts.map((port) => port.targetPort).join(",") } : {};
        const traffic = component.traffic;
        const http = component.ports.some((port) => isHttpProtocol(port.protocol));
        const serviceAnnotations: Record<string, string> = {
            ...(opaquePorts.length > 0 ? { "config.linkerd.io/opaque-ports": opaquePorts.map((port) => port.port).join(",") } : {}),
            "balancer.linkerd.io/failure-accrual": "consecutive",
            "balancer.linkerd.io/failure-accrual-consecutive-max-failures": String(traffic.circuitBreaker.consecutiveErrors),
            "balancer.linkerd.io/failure-accrual-consecutive-min-penalty": durationString(traffic.circuitBreaker.baseEjectionTimeMs),
        };
        if (http) Object.assign(serviceAnnotations, requestAnnotations(traffic));
        return {
            addresses: serviceDnsAddresses(component, platform),
            // The proxy forwards traffic to addresses outside the cluster as it finds it (TLS and opaque TCP pass through).
            externalAddresses: declaredExternalAddresses(component),
            pod: { labels: {}, annotations: { ...INJECT, ...opaque, ...(runsToCompletion(component.spec) ? LINKERD_NATIVE_SIDECAR_ANNOTATIONS : {}) }, sidecars: [], volumes: [], sidecarServesPorts: false },
            serviceAnnotations,
            objects: keyedByName([...splitRoutes(component), ...ingressFor(component, app, platform)]),
            warnings: splitWarnings(component, "linkerd", false),
        };
    },
    network,
};
