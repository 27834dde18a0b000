import { durationString, isHttpProtocol, keyedByName, kubeName, runsToCompletion, type AppModel, type ComponentModel, type ComponentRef, type DependentRef, type Manifest, type Protocol, type ResolvedPort } from "../model";
import { declaredExternalAddresses, describeComponent, externalsWithDeclaredTraffic, ingressFor, serviceDnsAddresses, splitWarnings } from "./shared";
import { PLAIN_NETWORK, type LinkerdInboundPolicy, type LinkerdPlatform, type MeshMode, type ModeNetwork, type Platform } from "./mode";

/**
 * Linkerd: the `linkerd.io/inject` annotation on the namespace and the pod template, opaque ports
 * for TCP (Linkerd cannot detect server-speaks-first protocols such as MySQL), and the app's
 * policies in Linkerd's own terms:
 * - authorization from the dependency graph: one `Server` per port, admitting through an
 *   `AuthorizationPolicy` only the mesh identities of the dependents that declared that port
 *   (`MeshTLSAuthentication` by ServiceAccount reference, so Linkerd's policy controller writes
 *   the identities with its own control-plane namespace and identity trust domain); callers in
 *   other modes and the ingress controller have no Linkerd identity and are admitted by network
 *   (`NetworkAuthentication`) on exactly the ports they call, with a warning;
 * - the default inbound policy for every other port (`deny` in production stacks, at least
 *   `all-authenticated` for an app with mtls STRICT);
 * - timeouts, retries and failure accrual as Service annotations (Linkerd 2.16+), gRPC retries on
 *   a GRPCRoute per gRPC port (Linkerd applies `retry.linkerd.io/grpc` only to gRPC routes), and a
 *   split between versions as weighted route backends;
 * - proxy-await, so the app starts only once its proxy can carry its traffic.
 * Not supported, and reported as warnings: connection-pool limits, and retry conditions Linkerd's
 * annotations cannot express.
 */

const MODE = "linkerd";
const INJECT = { "linkerd.io/inject": "enabled" };
const POLICY_GROUP = "policy.linkerd.io";
const DEFAULT_INBOUND_POLICY = "config.linkerd.io/default-inbound-policy";
/** Every address, IPv4 and IPv6: a caller without a mesh identity can only be admitted by network. */
const ANY_NETWORK = [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }];

/** Server.spec.proxyProtocol per port protocol: the inbound proxy skips protocol detection. */
const PROXY_PROTOCOL: Record<Protocol, string> = { http: "HTTP/1", http2: "HTTP/2", grpc: "gRPC", tcp: "opaque" };

/** Inbound policies that admit plaintext callers; an app with mtls STRICT is raised to its authenticated counterpart. */
const AUTHENTICATED: Partial<Record<LinkerdInboundPolicy | "unset", LinkerdInboundPolicy>> = {
    unset: "all-authenticated",
    "all-unauthenticated": "all-authenticated",
    audit: "all-authenticated",
    "cluster-unauthenticated": "cluster-authenticated",
};

/** The default inbound policy of the app's pods, or undefined to leave Linkerd's cluster-wide one. */
export function inboundPolicy(app: AppModel, linkerd: LinkerdPlatform): LinkerdInboundPolicy | undefined {
    const configured = linkerd.defaultInboundPolicy;
    return app.mtls === "STRICT" ? (AUTHENTICATED[configured ?? "unset"] ?? configured) : configured;
}

/** retryOn words Linkerd's annotations can express, per kind of route (Linkerd reference: Retries). */
const HTTP_RETRY: Record<string, string> = { "5xx": "5xx", "gateway-error": "gateway-error", "retriable-4xx": "409" };
const GRPC_RETRY: Record<string, string> = {
    cancelled: "cancelled",
    "deadline-exceeded": "deadline-exceeded",
    internal: "internal",
    "resource-exhausted": "resource-exhausted",
    unavailable: "unavailable",
};
const GRPC_WORDS = new Set(Object.keys(GRPC_RETRY));

interface RetryTranslation {
    /** The Linkerd conditions, comma-separated; empty when none applies. */
    conditions: string;
    /** retryOn words that mean something for this kind of route but that Linkerd cannot express. */
    unsupported: string[];
}

/** Translates retryOn for HTTP routes (gRPC words do not apply to them) or gRPC routes. */
function translateRetryOn(retryOn: readonly string[], kind: "http" | "grpc"): RetryTranslation {
    const table = kind === "http" ? HTTP_RETRY : GRPC_RETRY;
    const relevant = kind === "http" ? retryOn.filter((word) => !GRPC_WORDS.has(word)) : retryOn;
    return {
        conditions: [...new Set(relevant.flatMap((word) => table[word] ?? []))].join(","),
        unsupported: relevant.filter((word) => table[word] === undefined),
    };
}

function retryAnnotations(component: ComponentModel, kind: "http" | "grpc", conditions: string): Record<string, string> {
    const retries = component.traffic.retries;
    return {
        [`retry.linkerd.io/${kind}`]: conditions,
        "retry.linkerd.io/limit": String(retries.attempts),
        "retry.linkerd.io/timeout": durationString(retries.perTryTimeoutMs),
    };
}

/** Names are `<service>.<port>`: a dot cannot occur in either part, so two components never collide. */
function serverName(component: ComponentRef, port: ResolvedPort): string {
    return `${component.serviceName}.${port.name}`;
}

function meta(name: string, component: ComponentModel, annotations?: Record<string, string>): Manifest["metadata"] {
    return { name, namespace: component.namespace, ...(annotations ? { annotations } : {}) };
}

function server(component: ComponentModel, port: ResolvedPort): Manifest {
    return {
        apiVersion: `${POLICY_GROUP}/v1beta3`,
        kind: "Server",
        metadata: meta(serverName(component, port), component),
        // accessPolicy deny: a request no AuthorizationPolicy admits is refused, whatever the default inbound policy says.
        spec: { podSelector: { matchLabels: component.selectorLabels }, port: port.targetPort, proxyProtocol: PROXY_PROTOCOL[port.protocol], accessPolicy: "deny" },
    };
}

function authorizationPolicy(component: ComponentModel, port: ResolvedPort, authentication: "MeshTLSAuthentication" | "NetworkAuthentication"): Manifest {
    const meshTls = authentication === "MeshTLSAuthentication";
    return {
        apiVersion: `${POLICY_GROUP}/v1alpha1`,
        kind: "AuthorizationPolicy",
        metadata: meta(`${serverName(component, port)}.${meshTls ? "meshtls" : "network"}`, component),
        spec: {
            targetRef: { group: POLICY_GROUP, kind: "Server", name: serverName(component, port) },
            // One MeshTLSAuthentication per port (its callers), one NetworkAuthentication per component (any address).
            requiredAuthenticationRefs: [{ group: POLICY_GROUP, kind: authentication, name: meshTls ? serverName(component, port) : component.serviceName }],
        },
    };
}

/** Who may call one port: meshed callers by identity, the others (the ingress controller of an exposed port, clients of a published one) by network. */
interface PortAdmission {
    port: ResolvedPort;
    meshCallers: DependentRef[];
    outsideCallers: DependentRef[];
    exposed: boolean;
    /** Published on the component's LoadBalancer or NodePort Service: clients from anywhere. */
    published: boolean;
}

function admissions(component: ComponentModel): PortAdmission[] {
    const published = new Set((component.spec.publish?.ports ?? []).map((entry) => entry.port));
    return component.ports.map((port) => {
        const callers = component.dependents.filter((caller) => caller.calledPorts.some((called) => called.name === port.name));
        return {
            port,
            meshCallers: callers.filter((caller) => caller.mode === MODE),
            outsideCallers: callers.filter((caller) => caller.mode !== MODE),
            exposed: component.spec.expose?.port === port.name,
            published: published.has(port.name),
        };
    });
}

const admitsNetwork = (admission: PortAdmission) => admission.outsideCallers.length > 0 || admission.exposed || admission.published;

/** ServiceAccount references of callers, one per account, sorted. */
function identityRefs(callers: readonly ComponentRef[]): Record<string, string>[] {
    return [...new Map(callers.map((caller) => [`${caller.namespace}/${caller.serviceAccountName}`, caller])).entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([, caller]) => ({ kind: "ServiceAccount", name: caller.serviceAccountName, namespace: caller.namespace }));
}

/**
 * The component's authorization: a Server per port (nothing admitted unless a policy says so, as
 * istio mode's AuthorizationPolicy without rules), on each port the identities of the dependents
 * that declared it, and the network where callers without identity must be let in.
 */
function authorization(component: ComponentModel): Manifest[] {
    const ports = admissions(component);
    const objects: Manifest[] = ports.map(({ port }) => server(component, port));
    for (const { port, meshCallers } of ports.filter((admission) => admission.meshCallers.length > 0)) {
        objects.push(
            { apiVersion: `${POLICY_GROUP}/v1alpha1`, kind: "MeshTLSAuthentication", metadata: meta(serverName(component, port), component), spec: { identityRefs: identityRefs(meshCallers) } },
            authorizationPolicy(component, port, "MeshTLSAuthentication"),
        );
    }
    const networkPorts = ports.filter(admitsNetwork);
    if (networkPorts.length > 0) {
        objects.push({ apiVersion: `${POLICY_GROUP}/v1alpha1`, kind: "NetworkAuthentication", metadata: meta(component.serviceName, component), spec: { networks: ANY_NETWORK } });
        objects.push(...networkPorts.map(({ port }) => authorizationPolicy(component, port, "NetworkAuthentication")));
    }
    return objects;
}

const ALLOW_PLAINTEXT_KEY = "pluggable-mesh:linkerd.allowPlaintextCallers";

/** The callers without a Linkerd identity of each port, as warnings and problems name them. */
function describeOutsideCallers(component: ComponentModel): string {
    return admissions(component)
        .filter(({ outsideCallers }) => outsideCallers.length > 0)
        .map(({ port, outsideCallers }) => `port ${port.targetPort} (${port.name}) from ${outsideCallers.map((caller) => `${caller.app}/${caller.component} (mode ${caller.mode})`).join(", ")}`)
        .join("; ");
}

/** One warning per port open to any address, naming who needs it and what still narrows it. */
function admissionWarnings(component: ComponentModel, platform: Platform): string[] {
    return admissions(component)
        .filter(admitsNetwork)
        .map(({ port, outsideCallers, exposed, published }) => {
            const narrowed =
                platform.networkPolicies === "off"
                    ? "NetworkPolicies are off, so any pod can connect there"
                    : published
                      ? "its NetworkPolicy admits any source there too (the port is published)"
                      : "its NetworkPolicy admits only those callers there";
            const who = [
                ...outsideCallers.map((caller) => `${caller.app}/${caller.component} (mode ${caller.mode})`),
                ...(exposed ? ["the Ingress controller"] : []),
                ...(published ? [`the clients of Service ${component.serviceName}-public`] : []),
            ];
            return `${describeComponent(component)}: port ${port.name} admits any client address (NetworkAuthentication ${component.serviceName}) for ${who.join(" and ")}, which ${who.length === 1 ? "has" : "have"} no Linkerd identity; ${narrowed}`;
        });
}

/** Timeout and retries of requests to the component, as Linkerd 2.16+ reads them from a Service or a route of that kind. */
function requestAnnotations(component: ComponentModel, kind: "http" | "grpc"): Record<string, string> {
    const retries = component.traffic.retries;
    const { conditions } = translateRetryOn(retries.retryOn, kind);
    return {
        "timeout.linkerd.io/request": durationString(component.traffic.timeoutMs),
        ...(retries.attempts > 0 && conditions !== "" ? retryAnnotations(component, kind, conditions) : {}),
    };
}

/** Where a route to a port sends requests: each version's headless Service by its weight under a split, else the Service itself. */
function backendRefs(component: ComponentModel, port: ResolvedPort): Record<string, unknown>[] {
    if (!component.split) return [{ name: component.serviceName, port: port.port }];
    return component.split.map(({ version, weight }) => ({
        name: component.workloads.find((workload) => workload.version === version)!.headlessServiceName!,
        port: port.port,
        weight,
    }));
}

/**
 * Gateway API routes on the component's Service ports (callers keep dialling the Service):
 * - a GRPCRoute per gRPC port that has gRPC retries or a split: Linkerd reads
 *   `retry.linkerd.io/grpc` on gRPC routes only, and a port's GRPCRoutes take precedence over its
 *   HTTPRoutes, so a split of a gRPC port goes there too;
 * - an HTTPRoute per other port under a split (Linkerd's traffic splitting), a weighted backend
 *   per version.
 * Retry annotations on a route override all of the Service's, so each route repeats the timeout
 * and the retries of its kind.
 */
function routes(component: ComponentModel): Manifest[] {
    return component.ports.flatMap((port) => {
        const kind = port.protocol === "grpc" ? "grpc" : "http";
        const annotations = requestAnnotations(component, kind);
        if (!component.split && !(kind === "grpc" && "retry.linkerd.io/grpc" in annotations)) return [];
        return [
            {
                apiVersion: "gateway.networking.k8s.io/v1",
                kind: kind === "grpc" ? "GRPCRoute" : "HTTPRoute",
                metadata: meta(kubeName(component.serviceName, port.name), component, annotations),
                spec: {
                    parentRefs: [{ group: "core", kind: "Service", name: component.serviceName, port: port.port }],
                    rules: [{ backendRefs: backendRefs(component, port) }],
                },
            },
        ];
    });
}

/** Retry conditions the component's ports ask for and Linkerd cannot express, one warning per kind of route. */
function retryWarnings(component: ComponentModel): string[] {
    const retries = component.traffic.retries;
    if (retries.attempts === 0) return [];
    const kinds: ["http" | "grpc", ResolvedPort[]][] = [
        ["http", component.ports.filter((port) => port.protocol === "http" || port.protocol === "http2")],
        ["grpc", component.ports.filter((port) => port.protocol === "grpc")],
    ];
    return kinds.flatMap(([kind, ports]) => {
        const { unsupported } = translateRetryOn(retries.retryOn, kind);
        if (ports.length === 0 || unsupported.length === 0) return [];
        return [
            `${describeComponent(component)}: mode linkerd retries ${kind === "http" ? "HTTP requests on response status (5xx, gateway-error, retriable-4xx)" : "gRPC calls on grpc-status (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable)"} only; retryOn ${unsupported.join(", ")} not applied to port${ports.length === 1 ? "" : "s"} ${ports.map((port) => port.name).join(", ")}`,
        ];
    });
}

function serviceAnnotations(component: ComponentModel): Record<string, string> {
    const traffic = component.traffic;
    const opaquePorts = component.ports.filter((port) => !isHttpProtocol(port.protocol));
    const annotations: Record<string, string> = {
        ...(opaquePorts.length > 0 ? { "config.linkerd.io/opaque-ports": opaquePorts.map((port) => port.port).join(",") } : {}),
        "balancer.linkerd.io/failure-accrual": "consecutive",
        "balancer.linkerd.io/failure-accrual-consecutive-max-failures": String(traffic.circuitBreaker.consecutiveErrors),
        "balancer.linkerd.io/failure-accrual-consecutive-min-penalty": durationString(traffic.circuitBreaker.baseEjectionTimeMs),
    };
    // HTTP retries for the HTTP ports; gRPC ports get theirs on their GRPCRoute, which overrides these.
    const { "timeout.linkerd.io/request": timeout, ...httpRetries } = requestAnnotations(component, "http");
    if (component.ports.some((port) => isHttpProtocol(port.protocol))) annotations["timeout.linkerd.io/request"] = timeout!;
    if (component.ports.some((port) => port.protocol === "http" || port.protocol === "http2")) Object.assign(annotations, httpRetries);
    return annotations;
}

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

export const linkerdMode: MeshMode = {
    name: MODE,
    summary: "Linkerd proxies by annotation; authorization from the dependency graph as Linkerd policy; timeouts, retries and failure accrual",
    // Without linkerd-cni, the injected linkerd-init sets up iptables with NET_ADMIN and NET_RAW.
    podSecurity: () => ({ level: "privileged", reason: "mode linkerd injects linkerd-init, which needs NET_ADMIN and NET_RAW (no linkerd-cni)" }),
    requirements(app, platform) {
        if (!platform.linkerd) {
            return [
                {
                    key: "pluggable-mesh:linkerd.controlPlane",
                    message: `app "${app.name}" uses mode linkerd, but the stack declares no Linkerd control plane; install Linkerd and set it to "existing"`,
                },
            ];
        }
        if (!platform.linkerd.refusePlaintextCallers || app.mtls !== "STRICT") return [];
        return app.components
            .filter((component) => component.dependents.some((caller) => caller.mode !== MODE))
            .map((component) => ({
                key: ALLOW_PLAINTEXT_KEY,
                message: `${describeComponent(component)} has mtls STRICT in a production stack, but callers outside the Linkerd mesh have no identity and could only be admitted by network: ${describeOutsideCallers(component)}; move them to mode linkerd, or set this key to true to open exactly those ports to them`,
            }));
    },
    decorateApp(app, platform) {
        const policy = inboundPolicy(app, platform.linkerd!);
        const declared = app.components.filter((component) => component.trafficDeclared).map(describeComponent);
        return {
            namespaceLabels: {},
            namespaceAnnotations: { ...INJECT, ...(policy ? { [DEFAULT_INBOUND_POLICY]: policy } : {}) },
            objects: [],
            warnings: [
                ...app.components.flatMap((component) => admissionWarnings(component, platform)),
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
        const linkerd = platform.linkerd!;
        const policy = inboundPolicy(app, linkerd);
        const opaquePorts = component.ports.filter((port) => !isHttpProtocol(port.protocol));
        const annotations: Record<string, string> = {
            ...INJECT,
            ...(opaquePorts.length > 0 ? { "config.linkerd.io/opaque-ports": opaquePorts.map((port) => port.targetPort).join(",") } : {}),
            ...(policy ? { [DEFAULT_INBOUND_POLICY]: policy } : {}),
            "config.linkerd.io/proxy-await": linkerd.proxyAwait === false ? "disabled" : "enabled",
            ...(runsToCompletion(component.spec) ? LINKERD_NATIVE_SIDECAR_ANNOTATIONS : {}),
        };
        return {
            addresses: serviceDnsAddresses(component, platform),
            // The proxy forwards traffic to addresses outside the cluster as it finds it (TLS and opaque TCP pass through).
            externalAddresses: declaredExternalAddresses(component),
            pod: { labels: {}, annotations, sidecars: [], volumes: [], sidecarServesPorts: false },
            serviceAnnotations: serviceAnnotations(component),
            objects: keyedByName([...authorization(component), ...routes(component), ...ingressFor(component, app, platform)]),
            warnings: [...splitWarnings(component, MODE, false), ...retryWarnings(component)],
        };
    },
    network,
};
