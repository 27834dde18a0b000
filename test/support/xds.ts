import { execFile } from "node:child_process";

/**
 * What istiod pushes to one sidecar, as tools/xds-dump (Istio's delta ADS client from pkg/adsc,
 * presenting the pod's own node identity and metadata) receives it: envoy's listeners, clusters
 * and route configurations in protobuf JSON. Only the fields the checks read are typed.
 */
export interface XdsDump {
    node: { id: string; metadata: Record<string, unknown> };
    listeners: Listener[];
    clusters: Cluster[];
    routes: RouteConfiguration[];
}

interface TypedFilter {
    name: string;
    typedConfig?: Record<string, any>;
}

interface Listener {
    name: string;
    filterChains?: { name?: string; filterChainMatch?: { destinationPort?: number; transportProtocol?: string }; filters: TypedFilter[] }[];
}

export interface Cluster {
    name: string;
    connectTimeout?: string;
    circuitBreakers?: { thresholds?: { maxConnections?: number; maxPendingRequests?: number; maxRequests?: number }[] };
    outlierDetection?: { consecutive5xx?: number; interval?: string; baseEjectionTime?: string; maxEjectionPercent?: number };
}

export interface Route {
    match?: { prefix?: string };
    route?: { cluster?: string; timeout?: string; retryPolicy?: { retryOn?: string; numRetries?: number; perTryTimeout?: string } };
}

interface RouteConfiguration {
    name: string;
    virtualHosts?: { name: string; domains: string[]; routes: Route[] }[];
}

/** Runs xds-dump for a pod (its JSON as the API server returns it) against istiod's plaintext XDS address. */
export function dumpXds(xdsDump: string, xdsAddress: string, podJson: string): Promise<XdsDump> {
    return new Promise((resolve, reject) => {
        const child = execFile(xdsDump, ["--xds", xdsAddress], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
            if (error) reject(new Error(`xds-dump failed: ${stderr.trim() || error.message}`));
            else resolve(JSON.parse(stdout) as XdsDump);
        });
        child.stdin!.end(podJson);
    });
}

/** The RBAC filter of a filter chain: HTTP's inside the connection manager, or the network filter for TCP. */
function rbacOf(filters: readonly TypedFilter[]): Record<string, any> | undefined {
    const network = filters.find((filter) => filter.name === "envoy.filters.network.rbac");
    if (network) return network.typedConfig;
    const manager = filters.find((filter) => filter.name === "envoy.filters.network.http_connection_manager");
    return (manager?.typedConfig?.httpFilters as TypedFilter[] | undefined)?.find((filter) => filter.name === "envoy.filters.http.rbac")?.typedConfig;
}

/** Every value a matcher tree holds under a key (`principalName.exact`, `destinationPort`), wherever it is nested. */
function valuesUnder<T>(node: unknown, key: string, pick: (value: unknown) => T | undefined, into: T[] = []): T[] {
    if (Array.isArray(node)) for (const item of node) valuesUnder(item, key, pick, into);
    else if (node && typeof node === "object") {
        for (const [name, value] of Object.entries(node)) {
            const picked = name === key ? pick(value) : undefined;
            if (picked !== undefined) into.push(picked);
            else valuesUnder(value, key, pick, into);
        }
    }
    return into;
}

const exactString = (matcher: unknown) => (typeof (matcher as { exact?: unknown })?.exact === "string" ? (matcher as { exact: string }).exact : undefined);
const aNumber = (value: unknown) => (typeof value === "number" ? value : undefined);
const sortedUnique = <T>(values: T[]) => [...new Set(values)].sort();

/** What a sidecar's inbound listener does with connections to one port: per filter chain, its RBAC verdict. */
export interface InboundPolicy {
    /** The filter chains for the port (name and transport), so a report says what was looked at. */
    chains: string[];
    /**
     * Per chain: ALLOW/DENY, how many policies, the peer identities (mTLS principal names) and the
     * destination ports their rules name (sorted, de-duplicated); undefined when the chain has no RBAC filter.
     */
    rbac: ({ action: string; policies: number; principals: string[]; ports: number[] } | undefined)[];
}

/** The inbound (virtualInbound) filter chains for a port and the RBAC each applies. */
export function inboundPolicy(dump: XdsDump, port: number): InboundPolicy {
    const inbound = dump.listeners.find((listener) => listener.name === "virtualInbound");
    const chains = (inbound?.filterChains ?? []).filter((chain) => chain.filterChainMatch?.destinationPort === port);
    return {
        chains: chains.map((chain) => `${chain.name ?? "?"} (${chain.filterChainMatch?.transportProtocol ?? "any"})`),
        rbac: chains.map((chain) => {
            const rbac = rbacOf(chain.filters);
            if (!rbac) return undefined;
            const policies = Object.values((rbac.rules?.policies ?? {}) as Record<string, { principals?: unknown; permissions?: unknown }>);
            return {
                action: rbac.rules?.action ?? "ALLOW",
                policies: policies.length,
                principals: sortedUnique(policies.flatMap((policy) => valuesUnder(policy.principals, "principalName", exactString))),
                ports: sortedUnique(policies.flatMap((policy) => valuesUnder(policy.permissions, "destinationPort", aNumber))),
            };
        }),
    };
}

/** Envoy's name of the outbound cluster for a Service port. */
export function outboundClusterName(host: string, port: number): string {
    return `outbound|${port}||${host}`;
}

export function outboundCluster(dump: XdsDump, host: string, port: number): Cluster | undefined {
    return dump.clusters.find((cluster) => cluster.name === outboundClusterName(host, port));
}

/** The routes of the outbound HTTP route configuration for a port (named after it) that serve a host. */
export function outboundRoutes(dump: XdsDump, host: string, port: number): Route[] | undefined {
    const configuration = dump.routes.find((candidate) => candidate.name === String(port));
    return configuration?.virtualHosts?.find((virtualHost) => virtualHost.domains.includes(`${host}:${port}`) || virtualHost.name === `${host}:${port}`)?.routes;
}

/** Route configuration names the listeners refer to (RDS), to show every one was received. */
export function referencedRouteNames(dump: XdsDump): string[] {
    const names = dump.listeners.flatMap((listener) =>
        (listener.filterChains ?? []).flatMap((chain) => chain.filters.map((filter) => filter.typedConfig?.rds?.routeConfigName as string | undefined)),
    );
    return [...new Set(names.filter((name): name is string => typeof name === "string"))].sort();
}
