/**
 * Static envoy bootstrap for the envoy mesh mode: one sidecar per pod, no control plane. Everything
 * the sidecar knows (listeners, clusters, traffic policy) is in this one JSON document, which the
 * mode puts in a ConfigMap as `envoy.json`.
 *
 * The output is envoy's v3 `Bootstrap` in proto3 JSON form with snake_case names, exactly as envoy
 * reads it with `-c envoy.json`. Tests check it against envoy's own protos (test/support/envoyApi.ts).
 */
import { type Problem, durationString, isHttpProtocol, isIpv4, RETRY_CONDITIONS, type Protocol, type TrafficPolicy } from "../../model";

/**
 * Envoy image the sidecar runs. Envoy supports its four newest release lines for about a year each;
 * with v1.40 out (2026-10-13) v1.36 is past support (last patch 1.36.13). v1.39.6 (2026-10-26) is
 * the newest patch of the newest line that has had a few months of patches. Pinned to the patch so
 * a rebuild never changes the data plane silently.
 */
export const ENVOY_IMAGE = "envoyproxy/envoy:v1.39.6";

/** Admin interface port; bound to 127.0.0.1 only, never reachable from outside the pod. */
export const ENVOY_ADMIN_PORT = 15000;
/** Port of the `stats` listener (0.0.0.0): Prometheus scrapes it and kubelet probes it. */
export const ENVOY_STATS_PORT = 15090;
/** Address the admin interface binds to. */
export const ENVOY_ADMIN_ADDRESS = "127.0.0.1";
/** Path of envoy's Prometheus metrics, served through the stats listener. */
export const ENVOY_PROMETHEUS_PATH = "/stats/prometheus";
/** Path of envoy's readiness endpoint (200 once the server is LIVE), served through the stats listener. */
export const ENVOY_READY_PATH = "/ready";
/** Name of the listener that exposes {@link ENVOY_PROMETHEUS_PATH} and {@link ENVOY_READY_PATH}. */
export const ENVOY_STATS_LISTENER = "stats";
/** Name of the static cluster that points at the admin interface. */
export const ENVOY_ADMIN_CLUSTER = "admin";

/** Connect timeout for clusters that point into the pod itself (admin, the app): loopback connects are instant. */
const LOCAL_CONNECT_TIMEOUT = "1s";
/** uint32 max: "no limit" for circuit breakers. */
const UNLIMITED = 4294967295;

const TYPE_URL = "type.googleapis.com/";
const HCM_TYPE = `${TYPE_URL}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const ROUTER_TYPE = `${TYPE_URL}envoy.extensions.filters.http.router.v3.Router`;
const TCP_PROXY_TYPE = `${TYPE_URL}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;
const HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** A port of the app that the sidecar fronts: callers reach `listenPort`, the sidecar forwards to `appPort`. */
export interface EnvoyInbound {
    /** Name of the Service/container port (IANA service name); for humans and logs only. */
    portName: string;
    /** Protocol of the port: http, http2 and grpc get an HTTP connection manager, tcp a plain TCP proxy. */
    protocol: Protocol;
    /** Port the sidecar listens on, on 0.0.0.0; the Service targets this port. Must differ from `appPort`. */
    listenPort: number;
    /** Port the app listens on; the sidecar forwards to 127.0.0.1 on this port. */
    appPort: number;
}

/** A dependency of the app, reached through the sidecar on 127.0.0.1. */
export interface EnvoyOutbound {
    /** Dependency id, e.g. `ruoyi-admin-http`; unique per app; used in listener, cluster and stat names. */
    name: string;
    /** Protocol of the dependency's port; decides HTTP routing (timeouts, retries) versus TCP proxying. */
    protocol: Protocol;
    /** Port on 127.0.0.1 that the app dials for this dependency. */
    localPort: number;
    /**
     * Fully qualified DNS name of the dependency, resolved as STRICT_DNS. Use the headless Service
     * (e.g. `ruoyi-admin-headless.ns.svc.cluster.local`) so envoy sees every pod: a ClusterIP is one
     * virtual IP, which defeats load balancing and outlier detection.
     */
    upstreamHost: string;
    /** Port of the dependency (the pod port the headless Service resolves to). */
    upstreamPort: number;
    /**
     * How envoy finds the upstream: `dns` resolves `upstreamHost` (STRICT_DNS, every address it
     * returns is an endpoint), `static` takes it as an IPv4 address (a STATIC cluster, for an
     * external given by address). @default "dns"
     */
    upstreamResolution?: "dns" | "static";
    /** The dependency's traffic policy (it belongs to the destination; the caller's sidecar applies it). */
    policy: TrafficPolicy;
    /**
     * A weighted split between the dependency's versions (HTTP only): one cluster per entry, on that
     * version's own headless Service, instead of the one cluster on `upstreamHost`.
     */
    split?: EnvoyVersionUpstream[];
}

/** One version of a dependency in a weighted split. */
export interface EnvoyVersionUpstream {
    /** Version name; appended to the cluster name. */
    version: string;
    /** Fully qualified DNS name of the version's own headless Service. */
    upstreamHost: string;
    /** Relative weight (percent in practice); at least 1. */
    weight: number;
}

/** Everything {@link envoyBootstrap} needs; plain data, no Pulumi inputs. */
export interface EnvoyBootstrapInput {
    /** Envoy node id (`--service-node`), e.g. the component name; shows up in admin output and logs. */
    nodeId: string;
    /** Envoy node cluster (`--service-cluster`), e.g. the app name. */
    cluster: string;
    /** Admin port, bound to 127.0.0.1. @default {@link ENVOY_ADMIN_PORT} (by convention; callers pass it) */
    adminPort: number;
    /** Port of the stats listener, bound to 0.0.0.0. @default {@link ENVOY_STATS_PORT} (by convention) */
    statsPort: number;
    /** Ports of the app that callers reach through the sidecar. */
    inbound: EnvoyInbound[];
    /** Dependencies the app reaches through the sidecar. */
    outbound: EnvoyOutbound[];
}

/** A JSON value, as the bootstrap is plain data. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** envoy.config.core.v3.Address with a socket address. */
export interface EnvoyAddress extends JsonObject {
    socket_address: { address: string; port_value: number };
}

/** A network filter with its typed config. */
export interface EnvoyFilter extends JsonObject {
    name: string;
    typed_config: JsonObject;
}

/** envoy.config.listener.v3.Listener, as emitted here. */
export interface EnvoyListener extends JsonObject {
    name: string;
    address: EnvoyAddress;
    filter_chains: { filters: EnvoyFilter[] }[];
}

/** envoy.config.cluster.v3.Cluster, as emitted here. */
export interface EnvoyCluster extends JsonObject {
    name: string;
    type: "STATIC" | "STRICT_DNS";
    connect_timeout: string;
    load_assignment: JsonObject;
}

/** envoy.config.bootstrap.v3.Bootstrap, as emitted here. */
export interface EnvoyBootstrap extends JsonObject {
    node: { id: string; cluster: string };
    admin: { address: EnvoyAddress };
    static_resources: { listeners: EnvoyListener[]; clusters: EnvoyCluster[] };
}

/** Listener (and cluster) name of an inbound port. */
export function inboundName(listenPort: number): string {
    return `inbound|${listenPort}`;
}

/** Listener (and cluster) name of an outbound dependency. */
export function outboundName(localPort: number, name: string): string {
    return `outbound|${localPort}|${name}`;
}

/**
 * Every problem with an input, each naming its key; empty when {@link envoyBootstrap} will succeed.
 * Catches what envoy would only report at start-up (a port bound twice, a zero connect timeout) or
 * would silently accept (an unknown `retry_on` word).
 */
export function envoyBootstrapProblems(input: EnvoyBootstrapInput): Problem[] {
    const problems: Problem[] = [];
    const add = (key: string, message: string): void => {
        problems.push({ key, message });
    };
    if (input.nodeId.length === 0) add("nodeId", "is empty; give the component name");
    if (input.cluster.length === 0) add("cluster", "is empty; give the app name");

    // Every port envoy binds, with its key: two sockets on one port fail at start-up (EADDRINUSE),
    // and the app's own ports live in the same network namespace.
    const bound: { key: string; port: number; byEnvoy: boolean }[] = [
        { key: "adminPort", port: input.adminPort, byEnvoy: true },
        { key: "statsPort", port: input.statsPort, byEnvoy: true },
    ];
    input.inbound.forEach((port, i) => {
        bound.push({ key: `inbound[${i}].listenPort`, port: port.listenPort, byEnvoy: true });
        bound.push({ key: `inbound[${i}].appPort`, port: port.appPort, byEnvoy: false });
    });
    input.outbound.forEach((dep, i) => {
        bound.push({ key: `outbound[${i}].localPort`, port: dep.localPort, byEnvoy: true });
        checkPort(`outbound[${i}].upstreamPort`, dep.upstreamPort, add);
    });
    for (const [i, entry] of bound.entries()) {
        checkPort(entry.key, entry.port, add);
        const earlier = bound.slice(0, i).find((other) => other.port === entry.port && (entry.byEnvoy || other.byEnvoy));
        if (earlier !== undefined) {
            add(entry.key, `port ${entry.port} is already used by ${earlier.key}; every port in the pod must be distinct`);
        }
    }

    const names = new Set<string>();
    input.outbound.forEach((dep, i) => {
        const key = `outbound[${i}]`;
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(dep.name)) {
            add(`${key}.name`, `${JSON.stringify(dep.name)} is not a dependency id; use letters, digits, ".", "_" and "-"`);
        } else if (names.has(dep.name)) {
            add(`${key}.name`, `${JSON.stringify(dep.name)} is used twice; dependency ids must be unique`);
        }
        names.add(dep.name);
        if (dep.upstreamResolution === "static") {
            if (!isIpv4(dep.upstreamHost)) add(`${key}.upstreamHost`, `${JSON.stringify(dep.upstreamHost)} is not an IPv4 address; a static upstream needs one`);
        } else if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(dep.upstreamHost)) {
            add(`${key}.upstreamHost`, `${JSON.stringify(dep.upstreamHost)} is not a DNS name; give the headless Service FQDN`);
        }
        policyProblems(`${key}.policy`, dep.policy, add);
        splitProblems(key, dep, add);
    });
    return problems;
}

/** A split needs HTTP routing, distinct versions, DNS names and positive integer weights. */
function splitProblems(key: string, dep: EnvoyOutbound, add: (key: string, message: string) => void): void {
    if (dep.split === undefined) return;
    if (!isHttpProtocol(dep.protocol)) add(`${key}.split`, `splits HTTP requests, but the dependency is ${dep.protocol}; envoy's tcp_proxy is given one cluster`);
    if (dep.split.length === 0) add(`${key}.split`, "is empty; leave it out to send every request to upstreamHost");
    const versions = new Set<string>();
    dep.split.forEach((entry, i) => {
        const at = `${key}.split[${i}]`;
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(entry.version)) add(`${at}.version`, `${JSON.stringify(entry.version)} is not a version name; use a DNS-1123 label`);
        else if (versions.has(entry.version)) add(`${at}.version`, `${JSON.stringify(entry.version)} is used twice; each version gets one cluster`);
        versions.add(entry.version);
        if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(entry.upstreamHost)) add(`${at}.upstreamHost`, `${JSON.stringify(entry.upstreamHost)} is not a DNS name; give the version's headless Service FQDN`);
        if (!Number.isInteger(entry.weight) || entry.weight < 1 || entry.weight > UNLIMITED) add(`${at}.weight`, `${entry.weight} is out of range; use an integer from 1 to ${UNLIMITED}`);
    });
}

function checkPort(key: string, port: number, add: (key: string, message: string) => void): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        add(key, `${port} is not a port; use an integer from 1 to 65535`);
    }
}

/** Checks the numbers envoy needs: durations it can represent, counts that fit uint32, percentages. */
function policyProblems(key: string, policy: TrafficPolicy, add: (key: string, message: string) => void): void {
    const count = (k: string, value: number, min: number, max = UNLIMITED): void => {
        if (!Number.isInteger(value) || value < min || value > max) {
            add(`${key}.${k}`, `${value} is out of range; use an integer from ${min} to ${max}`);
        }
    };
    count("timeoutMs", policy.timeoutMs, 0);
    // Envoy rejects a zero connect timeout, outlier interval and ejection time (validate: duration.gt 0).
    count("connectTimeoutMs", policy.connectTimeoutMs, 1);
    count("retries.attempts", policy.retries.attempts, 0);
    count("retries.perTryTimeoutMs", policy.retries.perTryTimeoutMs, 0);
    const unknown = policy.retries.retryOn.filter((word) => !RETRY_CONDITIONS.includes(word));
    if (unknown.length > 0) {
        add(`${key}.retries.retryOn`, `${unknown.map((w) => JSON.stringify(w)).join(", ")} not known to envoy; use ${RETRY_CONDITIONS.join(", ")}`);
    }
    if (policy.retries.attempts > 0 && policy.retries.retryOn.length === 0) {
        add(`${key}.retries.retryOn`, `is empty while attempts is ${policy.retries.attempts}; envoy would never retry; list conditions such as "connect-failure"`);
    }
    const cb = policy.circuitBreaker;
    count("circuitBreaker.maxConnections", cb.maxConnections, 0);
    count("circuitBreaker.maxPendingRequests", cb.maxPendingRequests, 0);
    count("circuitBreaker.maxRequests", cb.maxRequests, 0);
    count("circuitBreaker.consecutiveErrors", cb.consecutiveErrors, 0);
    count("circuitBreaker.intervalMs", cb.intervalMs, 1);
    count("circuitBreaker.baseEjectionTimeMs", cb.baseEjectionTimeMs, 1);
    count("circuitBreaker.maxEjectionPercent", cb.maxEjectionPercent, 0, 100);
}

/**
 * Parts of a dependency's policy that envoy mode cannot apply, as sentences for the user. Plain TCP
 * has no requests, so request timeouts and retries do not exist there; connect failures are retried
 * through tcp_proxy's `max_connect_attempts` when `retryOn` asks for it.
 */
export function envoyPolicyGaps(dep: EnvoyOutbound): string[] {
    if (isHttpProtocol(dep.protocol)) {
        return [];
    }
    const gaps = [`${dep.name}: timeoutMs (${dep.policy.timeoutMs}) is not applied to tcp; only the connect timeout is`];
    const { attempts, retryOn } = dep.policy.retries;
    if (attempts > 0) {
        gaps.push(
            retryOn.includes("connect-failure")
                ? `${dep.name}: retries on tcp cover connect failures only (max_connect_attempts ${attempts + 1}); perTryTimeoutMs and other retryOn conditions are not applied`
                : `${dep.name}: retries are not applied to tcp unless retryOn contains "connect-failure"`,
        );
    }
    return gaps;
}

/**
 * The static envoy bootstrap for one pod. Pure and deterministic: inbound ports are ordered by
 * listen port and dependencies by local port, so reordering the input does not change the JSON
 * (and does not roll the pods).
 *
 * @throws Error listing every problem of {@link envoyBootstrapProblems} when the input is invalid.
 */
export function envoyBootstrap(input: EnvoyBootstrapInput): EnvoyBootstrap {
    const problems = envoyBootstrapProblems(input);
    if (problems.length > 0) {
        throw new Error(`invalid envoy bootstrap input:\n${problems.map((p) => `${p.key}: ${p.message}`).join("\n")}`);
    }
    const inbound = [...input.inbound].sort((a, b) => a.listenPort - b.listenPort);
    const outbound = [...input.outbound].sort((a, b) => a.localPort - b.localPort);
    return {
        node: { id: input.nodeId, cluster: input.cluster },
        admin: { address: socketAddress(ENVOY_ADMIN_ADDRESS, input.adminPort) },
        static_resources: {
            listeners: [
                statsListener(input.statsPort),
                ...inbound.map(inboundListener),
                ...outbound.map(outboundListener),
            ],
            clusters: [
                staticCluster(ENVOY_ADMIN_CLUSTER, input.adminPort),
                ...inbound.map(inboundCluster),
                ...outbound.flatMap(outboundClusters),
            ],
        },
    };
}

function socketAddress(address: string, port: number): EnvoyAddress {
    return { socket_address: { address, port_value: port } };
}

/**
 * Exposes exactly the metrics and readiness paths of admin on 0.0.0.0. Admin itself stays on
 * loopback: it can change runtime, drain listeners and quit the server.
 */
function statsListener(port: number): EnvoyListener {
    const routes: JsonValue[] = [ENVOY_PROMETHEUS_PATH, ENVOY_READY_PATH].map((path) => ({
        // `path` is an exact match on the path without its query, so `?usedonly` still works.
        match: { path },
        route: { cluster: ENVOY_ADMIN_CLUSTER },
    }));
    return listener(ENVOY_STATS_LISTENER, "0.0.0.0", port, httpConnectionManager("stats", "AUTO", ENVOY_STATS_LISTENER, routes));
}

function inboundListener(port: EnvoyInbound): EnvoyListener {
    const name = inboundName(port.listenPort);
    const statPrefix = `inbound_${port.listenPort}`;
    if (!isHttpProtocol(port.protocol)) {
        return listener(name, "0.0.0.0", port.listenPort, tcpProxy(statPrefix, name, {}));
    }
    const routes: JsonValue[] = [
        {
            match: { prefix: "/" },
            // The caller's sidecar enforces the destination's timeout; envoy's default of 15 s here
            // would cut long requests and gRPC streams that the policy allows.
            route: { cluster: name, timeout: "0s" },
        },
    ];
    return listener(name, "0.0.0.0", port.listenPort, httpConnectionManager(statPrefix, codecFor(port.protocol), name, routes));
}

function outboundListener(dep: EnvoyOutbound): EnvoyListener {
    const name = outboundName(dep.localPort, dep.name);
    const statPrefix = `outbound_${dep.name}`;
    if (!isHttpProtocol(dep.protocol)) {
        return listener(name, "127.0.0.1", dep.localPort, tcpProxy(statPrefix, name, tcpRetries(dep.policy)));
    }
    const routes: JsonValue[] = [{ match: { prefix: "/" }, route: outboundRoute(dep) }];
    return listener(name, "127.0.0.1", dep.localPort, httpConnectionManager(statPrefix, codecFor(dep.protocol), name, routes));
}

/** Cluster name of one version of a split dependency. */
export function versionClusterName(localPort: number, name: string, version: string): string {
    return `${outboundName(localPort, name)}|${version}`;
}

/**
 * Route action of a dependency: its cluster (or its versions' clusters, weighted), its timeout
 * (which in envoy includes all retries) and retry policy.
 */
function outboundRoute(dep: EnvoyOutbound): JsonObject {
    const policy = dep.policy;
    const name = outboundName(dep.localPort, dep.name);
    const target: JsonObject = dep.split
        ? { weighted_clusters: { clusters: dep.split.map((entry) => ({ name: versionClusterName(dep.localPort, dep.name, entry.version), weight: entry.weight })) } }
        : { cluster: name };
    const route: JsonObject = {
        ...target,
        // The app dialled 127.0.0.1:<localPort>; send the dependency's DNS name as Host/:authority,
        // as it would see without the mesh (virtual hosts, gRPC authority checks).
        auto_host_rewrite: true,
        timeout: durationString(policy.timeoutMs),
    };
    const { attempts, perTryTimeoutMs, retryOn } = policy.retries;
    if (attempts > 0) {
        const retry: JsonObject = { retry_on: retryOn.join(","), num_retries: attempts };
        // 0 means "no per-try timeout" in our policy; envoy then uses the route timeout.
        if (perTryTimeoutMs > 0) retry["per_try_timeout"] = durationString(perTryTimeoutMs);
        route["retry_policy"] = retry;
    }
    return route;
}

/** tcp_proxy retries connect failures only; the policy's attempt count maps to extra connect attempts. */
function tcpRetries(policy: TrafficPolicy): JsonObject {
    const { attempts, retryOn } = policy.retries;
    return attempts > 0 && retryOn.includes("connect-failure") ? { max_connect_attempts: attempts + 1 } : {};
}

/** AUTO sniffs HTTP/1.1 versus h2c; HTTP/2-only protocols get the HTTP2 codec so HTTP/1.1 is refused early. */
function codecFor(protocol: Protocol): "AUTO" | "HTTP2" {
    return protocol === "http" ? "AUTO" : "HTTP2";
}

function listener(name: string, address: string, port: number, filter: EnvoyFilter): EnvoyListener {
    return { name, address: socketAddress(address, port), filter_chains: [{ filters: [filter] }] };
}

function httpConnectionManager(statPrefix: string, codec: "AUTO" | "HTTP2", routeName: string, routes: JsonValue[]): EnvoyFilter {
    return {
        name: "envoy.filters.network.http_connection_manager",
        typed_config: {
            "@type": HCM_TYPE,
            stat_prefix: statPrefix,
            codec_type: codec,
            route_config: {
                name: routeName,
                virtual_hosts: [{ name: routeName, domains: ["*"], routes }],
            },
            http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_TYPE } }],
        },
    };
}

function tcpProxy(statPrefix: string, cluster: string, extra: JsonObject): EnvoyFilter {
    return {
        name: "envoy.filters.network.tcp_proxy",
        typed_config: { "@type": TCP_PROXY_TYPE, stat_prefix: statPrefix, cluster, ...extra },
    };
}

function loadAssignment(cluster: string, address: string, port: number): JsonObject {
    return {
        cluster_name: cluster,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }],
    };
}

function staticCluster(name: string, port: number): EnvoyCluster {
    return {
        name,
        type: "STATIC",
        connect_timeout: LOCAL_CONNECT_TIMEOUT,
        load_assignment: loadAssignment(name, "127.0.0.1", port),
    };
}

function inboundCluster(port: EnvoyInbound): EnvoyCluster {
    const name = inboundName(port.listenPort);
    return {
        ...staticCluster(name, port.appPort),
        // Limits are the callers' business (their sidecars apply the policy); envoy's default of
        // 1024 connections/requests here would be a hidden, undeclared limit on the app.
        circuit_breakers: { thresholds: [unlimitedThresholds()] },
        ...http2Options(port.protocol),
    };
}

function unlimitedThresholds(): JsonObject {
    return { max_connections: UNLIMITED, max_pending_requests: UNLIMITED, max_requests: UNLIMITED, max_retries: UNLIMITED };
}

/** The dependency's cluster, or one per version when it is split (each with the whole policy). */
function outboundClusters(dep: EnvoyOutbound): EnvoyCluster[] {
    if (!dep.split) return [outboundCluster(dep, outboundName(dep.localPort, dep.name), dep.upstreamHost)];
    return dep.split.map((entry) => outboundCluster(dep, versionClusterName(dep.localPort, dep.name, entry.version), entry.upstreamHost));
}

function outboundCluster(dep: EnvoyOutbound, name: string, upstreamHost: string): EnvoyCluster {
    const cb = dep.policy.circuitBreaker;
    return {
        name,
        // STRICT_DNS on the headless Service: one endpoint per pod, re-resolved every few seconds (an external's name: every address it has).
        type: dep.upstreamResolution === "static" ? "STATIC" : "STRICT_DNS",
        connect_timeout: durationString(dep.policy.connectTimeoutMs),
        load_assignment: loadAssignment(name, upstreamHost, dep.upstreamPort),
        circuit_breakers: {
            thresholds: [
                {
                    max_connections: cb.maxConnections,
                    max_pending_requests: cb.maxPendingRequests,
                    max_requests: cb.maxRequests,
                },
            ],
        },
        outlier_detection: {
            consecutive_5xx: cb.consecutiveErrors,
            interval: durationString(cb.intervalMs),
            base_ejection_time: durationString(cb.baseEjectionTimeMs),
            max_ejection_percent: cb.maxEjectionPercent,
        },
        ...http2Options(dep.protocol),
    };
}

/** HTTP/2 to the upstream for http2 and grpc, via the extension options (the cluster-level field is deprecated). */
function http2Options(protocol: Protocol): JsonObject {
    if (protocol !== "http2" && protocol !== "grpc") {
        return {};
    }
    return {
        typed_extension_protocol_options: {
            [HTTP_PROTOCOL_OPTIONS]: {
                "@type": `${TYPE_URL}${HTTP_PROTOCOL_OPTIONS}`,
                explicit_http_config: { http2_protocol_options: {} },
            },
        },
    };
}
