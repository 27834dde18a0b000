import assert from "node:assert/strict";
import {
    ENVOY_ADMIN_PORT,
    ENVOY_IMAGE,
    ENVOY_STATS_PORT,
    envoyBootstrap,
    envoyBootstrapProblems,
    envoyPolicyGaps,
    type EnvoyBootstrap,
    type EnvoyBootstrapInput,
    type EnvoyCluster,
    type EnvoyListener,
    type JsonObject,
} from "../components/modes/envoy/bootstrap";
import type { TrafficPolicy } from "../components/model";
import { loadEnvoyApi, validateEnvoyBootstrap, validateEnvoyMessage } from "./support/envoyApi";

const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const H2_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

const adminPolicy: TrafficPolicy = {
    timeoutMs: 3000,
    connectTimeoutMs: 500,
    retries: { attempts: 2, perTryTimeoutMs: 1200, retryOn: ["5xx", "connect-failure", "reset"] },
    circuitBreaker: {
        maxConnections: 100,
        maxPendingRequests: 50,
        maxRequests: 200,
        consecutiveErrors: 5,
        intervalMs: 10000,
        baseEjectionTimeMs: 30000,
        maxEjectionPercent: 50,
    },
};

const grpcPolicy: TrafficPolicy = {
    timeoutMs: 1500,
    connectTimeoutMs: 250,
    retries: { attempts: 1, perTryTimeoutMs: 0, retryOn: ["unavailable", "cancelled"] },
    circuitBreaker: {
        maxConnections: 10,
        maxPendingRequests: 20,
        maxRequests: 1000,
        consecutiveErrors: 3,
        intervalMs: 5000,
        baseEjectionTimeMs: 15000,
        maxEjectionPercent: 100,
    },
};

const mysqlPolicy: TrafficPolicy = {
    timeoutMs: 15000,
    connectTimeoutMs: 2000,
    retries: { attempts: 2, perTryTimeoutMs: 0, retryOn: ["connect-failure"] },
    circuitBreaker: {
        maxConnections: 64,
        maxPendingRequests: 16,
        maxRequests: 64,
        consecutiveErrors: 7,
        intervalMs: 30000,
        baseEjectionTimeMs: 60000,
        maxEjectionPercent: 34,
    },
};

/** The RuoYi UI's sidecar: serves HTTP and a TCP port, calls the admin API (http), a gRPC service on the same port, and MySQL. */
function realisticInput(): EnvoyBootstrapInput {
    return {
        nodeId: "ruoyi-ui",
        cluster: "ruoyi",
        adminPort: ENVOY_ADMIN_PORT,
        statsPort: ENVOY_STATS_PORT,
        inbound: [
            { portName: "http", protocol: "http", listenPort: 15080, appPort: 80 },
            { portName: "telnet", protocol: "tcp", listenPort: 15023, appPort: 23 },
        ],
        outbound: [
            {
                name: "ruoyi-admin-http",
                protocol: "http",
                localPort: 18080,
                upstreamHost: "ruoyi-admin-headless.ruoyi.svc.cluster.local",
                upstreamPort: 8080,
                policy: adminPolicy,
            },
            {
                name: "ruoyi-job-grpc",
                protocol: "grpc",
                localPort: 18081,
                upstreamHost: "ruoyi-job-headless.ruoyi.svc.cluster.local",
                upstreamPort: 8080,
                policy: grpcPolicy,
            },
            {
                name: "ruoyi-mysql-tcp",
                protocol: "tcp",
                localPort: 13306,
                upstreamHost: "ruoyi-mysql-headless.ruoyi.svc.cluster.local",
                upstreamPort: 3306,
                policy: mysqlPolicy,
            },
        ],
    };
}

function listenerNamed(bootstrap: EnvoyBootstrap, name: string): EnvoyListener {
    const found = bootstrap.static_resources.listeners.find((l) => l.name === name);
    assert.ok(found, `listener ${name}`);
    return found;
}

function clusterNamed(bootstrap: EnvoyBootstrap, name: string): EnvoyCluster {
    const found = bootstrap.static_resources.clusters.find((c) => c.name === name);
    assert.ok(found, `cluster ${name}`);
    return found;
}

/** The typed_config of a listener's only filter. */
function filterConfig(listener: EnvoyListener): JsonObject {
    assert.equal(listener.filter_chains.length, 1);
    assert.equal(listener.filter_chains[0]!.filters.length, 1);
    return listener.filter_chains[0]!.filters[0]!.typed_config;
}

/** Route list of an HCM listener with inline route_config (one virtual host matching everything). */
function routesOf(listener: EnvoyListener): unknown[] {
    const hcm = filterConfig(listener) as any;
    assert.equal(hcm["@type"], HCM);
    assert.deepEqual(hcm.http_filters, [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } }]);
    assert.equal(hcm.route_config.virtual_hosts.length, 1);
    assert.deepEqual(hcm.route_config.virtual_hosts[0].domains, ["*"]);
    return hcm.route_config.virtual_hosts[0].routes;
}

function endpointsOf(cluster: EnvoyCluster): unknown {
    return (cluster.load_assignment as any).endpoints;
}

function endpoint(address: string, port: number): unknown {
    return [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] }];
}

describe("envoy bootstrap", function () {
    const bootstrap = envoyBootstrap(realisticInput());

    it("passes envoy's v3 API protos with zero problems", function () {
        assert.deepEqual(validateEnvoyBootstrap(bootstrap), []);
    });

    it("pins an exact envoy release image", function () {
        assert.match(ENVOY_IMAGE, /^envoyproxy\/envoy:v\d+\.\d+\.\d+$/);
    });

    it("binds admin to 127.0.0.1 only and identifies the node", function () {
        assert.deepEqual(bootstrap.admin, { address: { socket_address: { address: "127.0.0.1", port_value: 15000 } } });
        assert.deepEqual(bootstrap.node, { id: "ruoyi-ui", cluster: "ruoyi" });
    });

    it("names and binds every listener: stats and inbound on 0.0.0.0, outbound on 127.0.0.1", function () {
        const bound = bootstrap.static_resources.listeners.map((l) => [l.name, l.address.socket_address.address, l.address.socket_address.port_value]);
        assert.deepEqual(bound, [
            ["stats", "0.0.0.0", 15090],
            ["inbound|15023", "0.0.0.0", 15023],
            ["inbound|15080", "0.0.0.0", 15080],
            ["outbound|13306|ruoyi-mysql-tcp", "127.0.0.1", 13306],
            ["outbound|18080|ruoyi-admin-http", "127.0.0.1", 18080],
            ["outbound|18081|ruoyi-job-grpc", "127.0.0.1", 18081],
        ]);
    });

    it("exposes exactly /stats/prometheus and /ready of admin on the stats listener", function () {
        const stats = listenerNamed(bootstrap, "stats");
        assert.equal(filterConfig(stats)["stat_prefix"], "stats");
        assert.deepEqual(routesOf(stats), [
            { match: { path: "/stats/prometheus" }, route: { cluster: "admin" } },
            { match: { path: "/ready" }, route: { cluster: "admin" } },
        ]);
        const admin = clusterNamed(bootstrap, "admin");
        assert.equal(admin.type, "STATIC");
        assert.deepEqual(endpointsOf(admin), endpoint("127.0.0.1", 15000));
    });

    it("forwards inbound ports to the app on 127.0.0.1: HTTP without a route timeout, TCP via tcp_proxy", function () {
        const http = listenerNamed(bootstrap, "inbound|15080");
        assert.equal(filterConfig(http)["codec_type"], "AUTO");
        assert.equal(filterConfig(http)["stat_prefix"], "inbound_15080");
        assert.deepEqual(routesOf(http), [{ match: { prefix: "/" }, route: { cluster: "inbound|15080", timeout: "0s" } }]);
        assert.deepEqual(filterConfig(listenerNamed(bootstrap, "inbound|15023")), {
            "@type": TCP_PROXY,
            stat_prefix: "inbound_15023",
            cluster: "inbound|15023",
        });
        assert.deepEqual(endpointsOf(clusterNamed(bootstrap, "inbound|15080")), endpoint("127.0.0.1", 80));
        assert.deepEqual(endpointsOf(clusterNamed(bootstrap, "inbound|15023")), endpoint("127.0.0.1", 23));
        assert.equal(clusterNamed(bootstrap, "inbound|15080").type, "STATIC");
    });

    it("lists every cluster with its type and upstream", function () {
        const clusters = bootstrap.static_resources.clusters.map((c) => [c.name, c.type, (endpointsOf(c) as any)[0].lb_endpoints[0].endpoint.address.socket_address]);
        assert.deepEqual(clusters, [
            ["admin", "STATIC", { address: "127.0.0.1", port_value: 15000 }],
            ["inbound|15023", "STATIC", { address: "127.0.0.1", port_value: 23 }],
            ["inbound|15080", "STATIC", { address: "127.0.0.1", port_value: 80 }],
            ["outbound|13306|ruoyi-mysql-tcp", "STRICT_DNS", { address: "ruoyi-mysql-headless.ruoyi.svc.cluster.local", port_value: 3306 }],
            ["outbound|18080|ruoyi-admin-http", "STRICT_DNS", { address: "ruoyi-admin-headless.ruoyi.svc.cluster.local", port_value: 8080 }],
            ["outbound|18081|ruoyi-job-grpc", "STRICT_DNS", { address: "ruoyi-job-headless.ruoyi.svc.cluster.local", port_value: 8080 }],
        ]);
        for (const cluster of bootstrap.static_resources.clusters) {
            assert.equal((cluster.load_assignment as any).cluster_name, cluster.name);
        }
    });

    it("applies the HTTP dependency's timeout (including retries) and retry policy on its route", function () {
        const listener = listenerNamed(bootstrap, "outbound|18080|ruoyi-admin-http");
        assert.equal(filterConfig(listener)["codec_type"], "AUTO");
        assert.equal(filterConfig(listener)["stat_prefix"], "outbound_ruoyi-admin-http");
        assert.deepEqual(routesOf(listener), [
            {
                match: { prefix: "/" },
                route: {
                    cluster: "outbound|18080|ruoyi-admin-http",
                    auto_host_rewrite: true,
                    timeout: "3s",
                    retry_policy: { retry_on: "5xx,connect-failure,reset", num_retries: 2, per_try_timeout: "1.2s" },
                },
            },
        ]);
    });

    it("applies connect timeout, circuit breakers and outlier detection on the HTTP dependency's cluster, HTTP/1.1 upstream", function () {
        const cluster = clusterNamed(bootstrap, "outbound|18080|ruoyi-admin-http");
        assert.equal(cluster.connect_timeout, "0.5s");
        assert.deepEqual(cluster["circuit_breakers"], { thresholds: [{ max_connections: 100, max_pending_requests: 50, max_requests: 200 }] });
        assert.deepEqual(cluster["outlier_detection"], {
            consecutive_5xx: 5,
            interval: "10s",
            base_ejection_time: "30s",
            max_ejection_percent: 50,
        });
        assert.equal(cluster["typed_extension_protocol_options"], undefined);
    });

    it("speaks HTTP/2 to the gRPC dependency through HttpProtocolOptions, and omits an unset per-try timeout", function () {
        const listener = listenerNamed(bootstrap, "outbound|18081|ruoyi-job-grpc");
        assert.equal(filterConfig(listener)["codec_type"], "HTTP2");
        assert.deepEqual((routesOf(listener)[0] as any).route, {
            cluster: "outbound|18081|ruoyi-job-grpc",
            auto_host_rewrite: true,
            timeout: "1.5s",
            retry_policy: { retry_on: "unavailable,cancelled", num_retries: 1 },
        });
        const cluster = clusterNamed(bootstrap, "outbound|18081|ruoyi-job-grpc");
        assert.equal(cluster.connect_timeout, "0.25s");
        assert.deepEqual(cluster["typed_extension_protocol_options"], {
            [H2_OPTIONS]: { "@type": `type.googleapis.com/${H2_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } },
        });
        assert.deepEqual(cluster["circuit_breakers"], { thresholds: [{ max_connections: 10, max_pending_requests: 20, max_requests: 1000 }] });
        assert.deepEqual(cluster["outlier_detection"], { consecutive_5xx: 3, interval: "5s", base_ejection_time: "15s", max_ejection_percent: 100 });
    });

    it("proxies the TCP dependency with connect retries only, plus connect timeout, breakers and outlier detection", function () {
        assert.deepEqual(filterConfig(listenerNamed(bootstrap, "outbound|13306|ruoyi-mysql-tcp")), {
            "@type": TCP_PROXY,
            stat_prefix: "outbound_ruoyi-mysql-tcp",
            cluster: "outbound|13306|ruoyi-mysql-tcp",
            max_connect_attempts: 3,
        });
        const cluster = clusterNamed(bootstrap, "outbound|13306|ruoyi-mysql-tcp");
        assert.equal(cluster.connect_timeout, "2s");
        assert.deepEqual(cluster["circuit_breakers"], { thresholds: [{ max_connections: 64, max_pending_requests: 16, max_requests: 64 }] });
        assert.deepEqual(cluster["outlier_detection"], { consecutive_5xx: 7, interval: "30s", base_ejection_time: "60s", max_ejection_percent: 34 });
        assert.deepEqual(envoyPolicyGaps(realisticInput().outbound[2]!), [
            "ruoyi-mysql-tcp: timeoutMs (15000) is not applied to tcp; only the connect timeout is",
            "ruoyi-mysql-tcp: retries on tcp cover connect failures only (max_connect_attempts 3); perTryTimeoutMs and other retryOn conditions are not applied",
        ]);
        assert.deepEqual(envoyPolicyGaps(realisticInput().outbound[0]!), []);
    });

    it("lifts envoy's default 1024 limits on inbound clusters (limits are the callers' policy)", function () {
        const unlimited = { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295 }] };
        assert.deepEqual(clusterNamed(bootstrap, "inbound|15080")["circuit_breakers"], unlimited);
        assert.deepEqual(clusterNamed(bootstrap, "inbound|15023")["circuit_breakers"], unlimited);
    });

    it("is deterministic and independent of input order", function () {
        const first = JSON.stringify(envoyBootstrap(realisticInput()));
        assert.equal(JSON.stringify(envoyBootstrap(realisticInput())), first);
        const shuffled = realisticInput();
        shuffled.inbound.reverse();
        shuffled.outbound.reverse();
        assert.equal(JSON.stringify(envoyBootstrap(shuffled)), first);
    });

    it("does not mutate its input", function () {
        const input = realisticInput();
        const before = JSON.stringify(input);
        envoyBootstrap(input);
        assert.equal(JSON.stringify(input), before);
    });

    it("reports every input problem with its key, and refuses to build", function () {
        const input = realisticInput();
        input.inbound[1]!.listenPort = 15000;
        input.outbound[1]!.localPort = 80;
        input.outbound[1]!.name = "ruoyi-admin-http";
        input.outbound[0]!.policy = { ...adminPolicy, connectTimeoutMs: 0, retries: { ...adminPolicy.retries, retryOn: ["5xx", "on-error"] } };
        const expected = [
            { key: "inbound[1].listenPort", message: "port 15000 is already used by adminPort; every port in the pod must be distinct" },
            { key: "outbound[1].localPort", message: "port 80 is already used by inbound[0].appPort; every port in the pod must be distinct" },
            { key: "outbound[0].policy.connectTimeoutMs", message: "0 is out of range; use an integer from 1 to 4294967295" },
            {
                key: "outbound[0].policy.retries.retryOn",
                message:
                    '"on-error" not known to envoy; use 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable',
            },
            { key: "outbound[1].name", message: '"ruoyi-admin-http" is used twice; dependency ids must be unique' },
        ];
        assert.deepEqual(envoyBootstrapProblems(input), expected);
        assert.throws(() => envoyBootstrap(input), {
            message: `invalid envoy bootstrap input:\n${expected.map((p) => `${p.key}: ${p.message}`).join("\n")}`,
        });
        assert.deepEqual(envoyBootstrapProblems(realisticInput()), []);
    });

    it("omits retry_policy when the policy has no retries", function () {
        const input = realisticInput();
        input.outbound = [{ ...input.outbound[0]!, policy: { ...adminPolicy, retries: { attempts: 0, perTryTimeoutMs: 0, retryOn: [] } } }];
        const built = envoyBootstrap(input);
        assert.deepEqual((routesOf(listenerNamed(built, "outbound|18080|ruoyi-admin-http"))[0] as any).route, {
            cluster: "outbound|18080|ruoyi-admin-http",
            auto_host_rewrite: true,
            timeout: "3s",
        });
        assert.deepEqual(validateEnvoyBootstrap(built), []);
    });
});

describe("envoy API validator", function () {
    /** A deep copy of the realistic bootstrap to break. */
    function fresh(): any {
        return JSON.parse(JSON.stringify(envoyBootstrap(realisticInput())));
    }
    const hcmPath = "$.static_resources.listeners[2].filter_chains[0].filters[0].typed_config";

    it("loads the protos once and reuses them", function () {
        const first = loadEnvoyApi();
        assert.equal(loadEnvoyApi().root, first.root);
        assert.ok(first.loadMs >= 0);
    });

    it("rejects an unknown field, naming its path", function () {
        const json = fresh();
        json.admin.adress = { socket_address: { address: "0.0.0.0", port_value: 15000 } };
        assert.deepEqual(validateEnvoyBootstrap(json), ['$.admin.adress: unknown field "adress" in envoy.config.bootstrap.v3.Admin']);
    });

    it("rejects an unknown field inside a typed_config", function () {
        const json = fresh();
        json.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.stat_prefx = "x";
        assert.deepEqual(validateEnvoyBootstrap(json), [
            `${hcmPath}.stat_prefx: unknown field "stat_prefx" in envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
        ]);
    });

    it("rejects wrong types: string for uint32, scalar for message, object for repeated", function () {
        const json = fresh();
        json.static_resources.listeners[0].address.socket_address.port_value = "http";
        json.static_resources.clusters[0].load_assignment = "127.0.0.1:15000";
        json.static_resources.listeners[1].filter_chains = { filters: [] };
        assert.deepEqual(validateEnvoyBootstrap(json), [
            '$.static_resources.listeners[0].address.socket_address.port_value: expected uint32 (an integer or integer string), got string "http"',
            "$.static_resources.listeners[1].filter_chains: expected an array (repeated FilterChain), got an object",
            '$.static_resources.clusters[0].load_assignment: expected a envoy.config.endpoint.v3.ClusterLoadAssignment object, got string "127.0.0.1:15000"',
        ]);
    });

    it("rejects an unknown @type", function () {
        const json = fresh();
        json.static_resources.listeners[2].filter_chains[0].filters[0].typed_config["@type"] = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxi";
        assert.deepEqual(validateEnvoyBootstrap(json), [
            `${hcmPath}.@type: unknown type "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxi"; no message envoy.extensions.filters.network.tcp_proxy.v3.TcpProxi in envoy's API protos`,
        ]);
    });

    it("resolves an @type that is not preloaded by loading its proto", function () {
        const json = fresh();
        json.static_resources.listeners[2].filter_chains[0].filters[0] = {
            name: "envoy.filters.network.direct_response",
            typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.direct_response.v3.Config", response: { inline_string: "hi" } },
        };
        assert.deepEqual(validateEnvoyBootstrap(json), []);
        json.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.response.inline = "hi";
        assert.deepEqual(validateEnvoyBootstrap(json), [
            '$.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.response.inline: unknown field "inline" in envoy.config.core.v3.DataSource',
        ]);
    });

    it("rejects an invalid enum name and an undefined enum number", function () {
        const json = fresh();
        json.static_resources.clusters[3].type = "STRICTDNS";
        json.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.codec_type = 9;
        assert.deepEqual(validateEnvoyBootstrap(json), [
            `${hcmPath}.codec_type: 9 is not a value of envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.CodecType; use one of AUTO, HTTP1, HTTP2, HTTP3`,
            '$.static_resources.clusters[3].type: "STRICTDNS" is not a value of envoy.config.cluster.v3.Cluster.DiscoveryType; use one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST',
        ]);
    });

    it("rejects a bad duration", function () {
        const json = fresh();
        json.static_resources.clusters[4].connect_timeout = "500ms";
        json.static_resources.clusters[4].outlier_detection.interval = 10;
        assert.deepEqual(validateEnvoyBootstrap(json), [
            '$.static_resources.clusters[4].connect_timeout: expected a google.protobuf.Duration string like "1.5s", got string "500ms"',
            "$.static_resources.clusters[4].outlier_detection.interval: expected a google.protobuf.Duration string like \"1.5s\", got number 10",
        ]);
    });

    it("rejects two members of one oneof", function () {
        const json = fresh();
        json.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.rds = {
            route_config_name: "x",
            config_source: { ads: {} },
        };
        assert.deepEqual(validateEnvoyBootstrap(json), [
            `${hcmPath}: oneof "route_specifier" of envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager has 2 members set (rds, route_config); set at most one`,
        ]);
    });

    it("accepts lowerCamel names, bare wrapper scalars and integer strings, but not the same field twice", function () {
        const json = fresh();
        const cluster = json.static_resources.clusters[4];
        cluster.connectTimeout = cluster.connect_timeout;
        delete cluster.connect_timeout;
        cluster.outlier_detection.max_ejection_percent = "50";
        assert.deepEqual(validateEnvoyBootstrap(json), []);
        cluster.connect_timeout = "1s";
        assert.deepEqual(validateEnvoyBootstrap(json), [
            '$.static_resources.clusters[4].connect_timeout: field "connect_timeout" of envoy.config.cluster.v3.Cluster is set twice ("connectTimeout" and "connect_timeout")',
        ]);
    });

    it("rejects deprecated fields", function () {
        const json = fresh();
        json.static_resources.clusters[4].http2_protocol_options = {};
        assert.deepEqual(validateEnvoyBootstrap(json), [
            '$.static_resources.clusters[4].http2_protocol_options: field "http2_protocol_options" of envoy.config.cluster.v3.Cluster is deprecated; use its replacement',
        ]);
    });

    it("enforces protoc-gen-validate rules: uint32.lte, uint32.gte on a wrapper, string.min_len, message.required, repeated.min_items", function () {
        const json = fresh();
        json.static_resources.listeners[0].address.socket_address.port_value = 70000;
        json.static_resources.listeners[3].filter_chains[0].filters[0].typed_config.max_connect_attempts = 0;
        json.static_resources.listeners[3].filter_chains[0].filters[0].typed_config.stat_prefix = "";
        delete json.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match;
        json.static_resources.listeners[2].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].domains = [];
        const vhost = `${hcmPath}.route_config.virtual_hosts[0]`;
        assert.deepEqual(validateEnvoyBootstrap(json), [
            "$.static_resources.listeners[0].address.socket_address.port_value: 70000 violates uint32.lte (must be <= 65535)",
            `${vhost}.domains: has 0 items; at least 1 required (repeated.min_items)`,
            `${vhost}.routes[0].match: required field "match" of envoy.config.route.v3.Route is missing`,
            '$.static_resources.listeners[3].filter_chains[0].filters[0].typed_config.stat_prefix: length 0 of "" violates string.min_len 1',
            "$.static_resources.listeners[3].filter_chains[0].filters[0].typed_config.max_connect_attempts: 0 violates uint32.gte (must be >= 1)",
        ]);
    });

    it("enforces duration.gt on the connect timeout", function () {
        const json = fresh();
        json.static_resources.clusters[0].connect_timeout = "0s";
        assert.deepEqual(validateEnvoyBootstrap(json), ['$.static_resources.clusters[0].connect_timeout: "0s" violates duration.gt (must be > 0s)']);
    });

    it("checks Any values of well-known types and free-form Struct", function () {
        assert.deepEqual(
            validateEnvoyMessage("envoy.config.core.v3.Metadata", {
                filter_metadata: { "envoy.lb": { canary: true, weights: [1, 2], nested: { a: null } } },
                typed_filter_metadata: { x: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "1s" } },
            }),
            [],
        );
        assert.deepEqual(
            validateEnvoyMessage("envoy.config.core.v3.Metadata", {
                filter_metadata: { "envoy.lb": "canary" },
                typed_filter_metadata: { x: { "@type": "type.googleapis.com/google.protobuf.Duration", value: "soon" } },
            }),
            [
                '$.filter_metadata["envoy.lb"]: expected an object (google.protobuf.Struct), got string "canary"',
                '$.typed_filter_metadata.x.value: expected a google.protobuf.Duration string like "1.5s", got string "soon"',
            ],
        );
    });
});
