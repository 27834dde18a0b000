import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { checkApps, type AppInput } from "../components/app/plan";
import { renderApp, type RenderedApp } from "../components/app/render";
import { type ModeName, type Manifest } from "../components/model";
import { ENVOY_CONFIG_HASH_ANNOTATION } from "../components/modes/envoy";
import type { Platform } from "../components/modes/mode";
import { readStackConfig } from "../engine/stackFile";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { validateEnvoyBootstrap } from "./support/envoyApi";
import { findObject, kubeObjects, MODE_NAMES, objectsOfKind, RUOYI_SPEC, ruoyiConfig, ruoyiObjects, runProgram, type KubeObject } from "./support/meshRuns";

/**
 * What each mode does to RuoYi: sidecars, the addresses the app is given, the resolved nginx
 * config, labels and annotations, Istio objects, envoy listeners and clusters, and what happens
 * when modes meet (an app outside Istio calling an istio-mode app under STRICT mTLS).
 */

const NS = "ruoyi";
const WORKLOADS: [kind: "Deployment" | "StatefulSet", name: string][] = [
    ["Deployment", "ruoyi-ui"],
    ["Deployment", "ruoyi-admin"],
    ["StatefulSet", "mysql"],
    ["Deployment", "redis"],
];
const FQDN = (service: string) => `${service}.${NS}.svc.cluster.local`;
const GATEWAY_PRINCIPAL = "cluster.local/ns/istio-system/sa/istio-ingressgateway";

/** The platform of a stack that offers every mode (Istio with its gateway, Linkerd), as the program builds it. */
const PLATFORM: Platform = loadStack(ruoyiConfig("native"), { projectRoot: PROJECT_ROOT }).platform;

function ruoyiSpec(): Record<string, any> {
    return parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, RUOYI_SPEC), "utf8")) as Record<string, any>;
}

/** Plans and renders apps through the pure layer; fails on any planning problem. */
function render(inputs: AppInput[], defaultMtls: "STRICT" | "PERMISSIVE" = "PERMISSIVE"): Map<string, RenderedApp> {
    const { apps, problems } = checkApps(inputs, { platform: PLATFORM, defaultMtls });
    assert.deepEqual(problems, []);
    return new Map(apps.map((app) => [app.name, renderApp(app, PLATFORM)]));
}

function manifestOf(rendered: RenderedApp, kind: string, name: string): Manifest {
    const found = rendered.objects.filter((object) => object.manifest.kind === kind && object.manifest.metadata.name === name);
    assert.equal(found.length, 1, `expected one ${kind}/${name}`);
    return found[0]!.manifest;
}

function workload(objects: readonly KubeObject[], kind: string, name: string): Record<string, any> {
    return findObject(objects, kind, name, NS);
}

function podTemplate(objects: readonly KubeObject[], kind: string, name: string): Record<string, any> {
    return workload(objects, kind, name).spec.template;
}

/** A container's variables: plain values as they are, a Secret reference as `secretKeyRef <secret>/<key>`. */
function envOf(objects: readonly KubeObject[], name: string): Record<string, string> {
    const container = podTemplate(objects, "Deployment", name).spec.containers[0];
    type Entry = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
    return Object.fromEntries(
        (container.env as Entry[]).map((entry) => [entry.name, entry.value ?? `secretKeyRef ${entry.valueFrom!.secretKeyRef.name}/${entry.valueFrom!.secretKeyRef.key}`]),
    );
}

/** The one ConfigMap whose name starts with a prefix (names carry a content hash). */
function configMapStartingWith(objects: readonly KubeObject[], prefix: string): Record<string, any> {
    const found = objectsOfKind(objects, "ConfigMap").filter((map) => (map.metadata.name as string).startsWith(prefix));
    assert.equal(found.length, 1, `expected one ConfigMap named ${prefix}*`);
    return found[0]!;
}

interface Bootstrap {
    static_resources: { listeners: any[]; clusters: any[] };
}

function bootstrapOf(configMap: Record<string, any>): Bootstrap {
    return JSON.parse(configMap.data["envoy.json"] as string) as Bootstrap;
}

/** Listener name → its socket address, and cluster name → its type and single upstream. */
function summarize(bootstrap: Bootstrap): { listeners: Record<string, string>; clusters: Record<string, string> } {
    const socket = (address: any) => `${address.socket_address.address}:${address.socket_address.port_value}`;
    return {
        listeners: Object.fromEntries(bootstrap.static_resources.listeners.map((listener) => [listener.name, socket(listener.address)])),
        clusters: Object.fromEntries(
            bootstrap.static_resources.clusters.map((cluster) => [cluster.name, `${cluster.type} ${socket(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address)}`]),
        ),
    };
}

/** ruoyi-admin's full environment, given how it reaches MySQL and Redis. */
function adminEnv(mysql: { host: string; port: number }, redis: { host: string; port: number }): Record<string, string> {
    const forms = (prefix: string, { host, port }: { host: string; port: number }) => ({
        [`${prefix}_HOST`]: host,
        [`${prefix}_PORT`]: String(port),
        [`${prefix}_ADDR`]: `${host}:${port}`,
        [`${prefix}_URL`]: `tcp://${host}:${port}`,
    });
    return {
        SPRING_PROFILES_ACTIVE: "prod",
        SPRING_DATASOURCE_DRUID_MASTER_PASSWORD: "secretKeyRef ruoyi-admin-secrets/mysqlRootPassword",
        ...forms("MYSQL_MYSQL", mysql),
        ...forms("MYSQL", mysql),
        MYSQL_ADDRESS: `${mysql.host}:${mysql.port}`,
        ...forms("REDIS_REDIS", redis),
        ...forms("REDIS", redis),
        SPRING_REDIS_HOST: redis.host,
        SPRING_REDIS_PORT: String(redis.port),
    };
}

describe("modes on RuoYi", () => {
    const runs = new Map<ModeName, KubeObject[]>();
    before(async () => {
        for (const mode of MODE_NAMES) runs.set(mode, await ruoyiObjects(mode));
    });

    describe("sidecars", () => {
        for (const mode of MODE_NAMES) {
            it(`${mode}: ${mode === "envoy" ? "one native envoy sidecar per pod" : "no sidecar in the pod template"}`, () => {
                const objects = runs.get(mode)!;
                for (const [kind, name] of WORKLOADS) {
                    const spec = podTemplate(objects, kind, name).spec;
                    assert.deepEqual(
                        spec.containers.map((container: { name: string }) => container.name),
                        [name],
                        `${kind}/${name}`,
                    );
                    if (mode === "envoy") {
                        assert.equal(spec.initContainers.length, 1, `${kind}/${name}`);
                        const [sidecar] = spec.initContainers;
                        assert.equal(sidecar.name, "envoy");
                        assert.equal(sidecar.restartPolicy, "Always");
                        assert.equal(sidecar.image, "envoyproxy/envoy:v1.39.6");
                        assert.deepEqual(sidecar.args, ["--config-path", "/etc/envoy/envoy.json", "--log-level", "warn", "--drain-time-s", "5"]);
                        // The sidecar serves the Service's named port; the app's port is unnamed.
                        assert.deepEqual(sidecar.ports, [
                            { name: workloadPortName(name), containerPort: 15010, protocol: "TCP" },
                            { name: "envoy-stats", containerPort: 15090, protocol: "TCP" },
                        ]);
                        assert.equal(spec.containers[0].ports[0].name, undefined);
                        assert.deepEqual(sidecar.startupProbe, { httpGet: { path: "/ready", port: 15090 }, periodSeconds: 2, failureThreshold: 30 });
                        const configMap = configMapStartingWith(objects, `${name}-envoy-`);
                        assert.deepEqual(
                            spec.volumes.find((volume: { name: string }) => volume.name === "envoy-config"),
                            { name: "envoy-config", configMap: { name: configMap.metadata.name } },
                        );
                    } else {
                        assert.equal(spec.initContainers, undefined, `${kind}/${name}`);
                        assert.equal(spec.containers[0].ports[0].name, workloadPortName(name));
                        assert.deepEqual(
                            objectsOfKind(objects, "ConfigMap").filter((map) => (map.metadata.name as string).includes("-envoy-")),
                            [],
                        );
                    }
                }
            });
        }
    });

    describe("addresses given to ruoyi-admin", () => {
        for (const mode of MODE_NAMES) {
            it(`${mode}: ${mode === "envoy" ? "127.0.0.1 and the sidecar's local ports" : "Service DNS names"}`, () => {
                const expected =
                    mode === "envoy"
                        ? adminEnv({ host: "127.0.0.1", port: 3306 }, { host: "127.0.0.1", port: 6379 })
                        : adminEnv({ host: FQDN("mysql"), port: 3306 }, { host: FQDN("redis"), port: 6379 });
                assert.deepEqual(envOf(runs.get(mode)!, "ruoyi-admin"), expected);
            });
        }
    });

    describe("the ruoyi-ui nginx web.conf", () => {
        for (const mode of MODE_NAMES) {
            const proxy = mode === "envoy" ? "http://127.0.0.1:8080/" : `http://${FQDN("ruoyi-admin")}:8080/`;
            it(`${mode}: proxy_pass ${proxy}`, () => {
                const objects = runs.get(mode)!;
                const configMap = configMapStartingWith(objects, "ruoyi-ui-files-");
                assert.deepEqual(Object.keys(configMap.data), ["file-0-default.conf"]);
                const conf = configMap.data["file-0-default.conf"] as string;
                assert.deepEqual(
                    conf.split("\n").filter((line) => line.includes("proxy_pass")),
                    [`    proxy_pass ${proxy};`],
                );
                assert.ok(!conf.includes("{{"), "no placeholder left");
                assert.equal(configMap.immutable, true);
                const template = podTemplate(objects, "Deployment", "ruoyi-ui");
                assert.deepEqual(template.spec.containers[0].volumeMounts, [
                    { name: "config-files", mountPath: "/etc/nginx/conf.d/default.conf", subPath: "file-0-default.conf", readOnly: true },
                ]);
                assert.deepEqual(
                    template.spec.volumes.find((volume: { name: string }) => volume.name === "config-files"),
                    { name: "config-files", configMap: { name: configMap.metadata.name } },
                );
                assert.equal(`ruoyi-ui-files-${template.metadata.annotations["pluggable-mesh.io/config-files-hash"]}`, configMap.metadata.name);
            });
        }
    });

    describe("labels and annotations", () => {
        for (const mode of MODE_NAMES) {
            it(`${mode}: pod template, namespace and Service decorations`, () => {
                const objects = runs.get(mode)!;
                const namespace = findObject(objects, "Namespace", NS);
                // Pod Security: RuoYi's exempt images need baseline; istio's and linkerd's injected init containers need privileged.
                const injected = mode === "istio" || mode === "linkerd";
                assert.deepEqual(namespace.metadata.labels, {
                    "app.kubernetes.io/managed-by": "pluggable-mesh",
                    ...(mode === "istio" ? { "istio-injection": "enabled" } : {}),
                    "pod-security.kubernetes.io/enforce": injected ? "privileged" : "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                });
                const reason = injected
                    ? `mode ${mode} injects ${mode}-init, which needs NET_ADMIN and NET_RAW (no ${mode}-cni)`
                    : `component "ruoyi-ui" is exempt: the official nginx image starts its master as root to bind port 80, then runs workers as user nginx`;
                assert.deepEqual(namespace.metadata.annotations, { ...(mode === "linkerd" ? { "linkerd.io/inject": "enabled" } : {}), "pluggable-mesh.io/pod-security-reason": reason });
                for (const [kind, name] of WORKLOADS) {
                    const template = podTemplate(objects, kind, name);
                    const labels = template.metadata.labels as Record<string, string>;
                    const annotations = template.metadata.annotations as Record<string, string>;
                    assert.deepEqual(labels, {
                        "app.kubernetes.io/name": name,
                        "app.kubernetes.io/instance": "ruoyi",
                        "app.kubernetes.io/part-of": "ruoyi",
                        "app.kubernetes.io/managed-by": "pluggable-mesh",
                        "app.kubernetes.io/version": "v1",
                        ...(mode === "istio" ? { app: name, version: "v1", "sidecar.istio.io/inject": "true" } : {}),
                    });
                    assert.equal(annotations["pluggable-mesh.io/mode"], mode);
                    const opaque = { mysql: "3306", redis: "6379" }[name];
                    const linkerdAnnotations = Object.fromEntries(Object.entries(annotations).filter(([key]) => key.includes("linkerd.io")));
                    assert.deepEqual(
                        linkerdAnnotations,
                        mode === "linkerd"
                            ? { "linkerd.io/inject": "enabled", "config.linkerd.io/proxy-await": "enabled", ...(opaque ? { "config.linkerd.io/opaque-ports": opaque } : {}) }
                            : {},
                        `${kind}/${name}`,
                    );
                    const service = findObject(objects, "Service", name, NS);
                    const serviceAnnotations = (service.metadata.annotations ?? {}) as Record<string, string>;
                    assert.equal(serviceAnnotations["config.linkerd.io/opaque-ports"], mode === "linkerd" ? opaque : undefined, `Service/${name}`);
                }
            });
        }

        it("linkerd: the traffic policy as Service annotations, with ruoyi-admin's 30s timeout and no retry RuoYi did not ask for", () => {
            const service = findObject(runs.get("linkerd")!, "Service", "ruoyi-admin", NS);
            // RuoYi's retryOn is the default (connect-failure, refused-stream, reset, unavailable, cancelled):
            // none is an HTTP status, so Linkerd gets no retry.linkerd.io/http (a 5xx retry would resend failed POSTs).
            assert.deepEqual(service.metadata.annotations, {
                "balancer.linkerd.io/failure-accrual": "consecutive",
                "balancer.linkerd.io/failure-accrual-consecutive-max-failures": "5",
                "balancer.linkerd.io/failure-accrual-consecutive-min-penalty": "30s",
                "timeout.linkerd.io/request": "30s",
            });
        });
    });

    describe("Istio objects", () => {
        const istioObjects = (objects: readonly KubeObject[]) =>
            objects.filter((object) => object.apiVersion.endsWith(".istio.io/v1") && object.manifest.metadata.namespace === NS);

        for (const mode of MODE_NAMES) {
            it(`${mode}: ${mode === "istio" ? "mTLS, authorization, destination rules, virtual services and the gateway" : "none"}`, () => {
                const found = istioObjects(runs.get(mode)!).map((object) => `${object.kind}/${object.manifest.metadata.name}`).sort();
                assert.deepEqual(
                    found,
                    mode === "istio"
                        ? [
                              "AuthorizationPolicy/mysql",
                              "AuthorizationPolicy/redis",
                              "AuthorizationPolicy/ruoyi-admin",
                              "AuthorizationPolicy/ruoyi-ui",
                              "DestinationRule/mysql",
                              "DestinationRule/redis",
                              "DestinationRule/ruoyi-admin",
                              "DestinationRule/ruoyi-ui",
                              "Gateway/ruoyi-ui-ingress",
                              "PeerAuthentication/mysql",
                              "PeerAuthentication/redis",
                              "PeerAuthentication/ruoyi-admin",
                              "PeerAuthentication/ruoyi-ui",
                              "VirtualService/ruoyi-admin",
                              "VirtualService/ruoyi-ui",
                              "VirtualService/ruoyi-ui-ingress",
                          ]
                        : [],
                );
                const ingresses = objectsOfKind(runs.get(mode)!, "Ingress").map((ingress) => ingress.metadata.name);
                assert.deepEqual(ingresses, mode === "istio" ? [] : ["ruoyi-ui"]);
            });
        }

        it("one PeerAuthentication per component selects its pods (and no other's): PERMISSIVE by default, STRICT in the prod stack", async () => {
            const prod = kubeObjects((await runProgram(readStackConfig("prod"), "prod")).resources);
            for (const [kind, name] of WORKLOADS) {
                const selector = { matchLabels: { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": "ruoyi" } };
                assert.deepEqual(findObject(runs.get("istio")!, "PeerAuthentication", name, NS).spec, { selector, mtls: { mode: "PERMISSIVE" } });
                assert.deepEqual(findObject(prod, "PeerAuthentication", name, NS).spec, { selector, mtls: { mode: "STRICT" } });
                // Istio gives a pod matched by two workload-selector policies the oldest one: exactly one matches.
                const labels = podTemplate(prod, kind, name).metadata.labels as Record<string, string>;
                const matching = objectsOfKind(prod, "PeerAuthentication").filter((pa) => Object.entries(pa.spec.selector.matchLabels as Record<string, string>).every(([key, value]) => labels[key] === value));
                assert.deepEqual(matching.map((pa) => pa.metadata.name), [name], `${kind}/${name}`);
            }
        });

        it("AuthorizationPolicy admits only declared callers, on the component's own selector and ports", () => {
            const objects = runs.get("istio")!;
            const callers: Record<string, [string[], string]> = {
                "ruoyi-ui": [[GATEWAY_PRINCIPAL], "80"],
                "ruoyi-admin": [["cluster.local/ns/ruoyi/sa/ruoyi-ruoyi-ui"], "8080"],
                mysql: [["cluster.local/ns/ruoyi/sa/ruoyi-ruoyi-admin"], "3306"],
                redis: [["cluster.local/ns/ruoyi/sa/ruoyi-ruoyi-admin"], "6379"],
            };
            for (const [kind, name] of WORKLOADS) {
                const [principals, port] = callers[name]!;
                assert.deepEqual(findObject(objects, "AuthorizationPolicy", name, NS).spec, {
                    selector: { matchLabels: workload(objects, kind, name).spec.selector.matchLabels },
                    action: "ALLOW",
                    rules: [{ from: [{ source: { principals } }], to: [{ operation: { ports: [port] } }] }],
                });
            }
            // The principals name the ServiceAccounts the pods really run as.
            assert.equal(podTemplate(objects, "Deployment", "ruoyi-admin").spec.serviceAccountName, "ruoyi-ruoyi-admin");
            assert.equal(findObject(objects, "ServiceAccount", "ruoyi-ruoyi-admin", NS).metadata.name, "ruoyi-ruoyi-admin");
        });

        it("DestinationRule and VirtualService carry the traffic policy, including ruoyi-admin's 30s timeout", () => {
            const objects = runs.get("istio")!;
            const retries = { attempts: 2, perTryTimeout: "5s", retryOn: "connect-failure,refused-stream,reset,unavailable,cancelled" };
            for (const [, name] of WORKLOADS) {
                assert.deepEqual(findObject(objects, "DestinationRule", name, NS).spec, {
                    host: FQDN(name),
                    trafficPolicy: {
                        connectionPool: { tcp: { maxConnections: 1024, connectTimeout: "5s" }, http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024 } },
                        outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
                    },
                });
            }
            assert.deepEqual(findObject(objects, "VirtualService", "ruoyi-admin", NS).spec, {
                hosts: [FQDN("ruoyi-admin")],
                http: [{ route: [{ destination: { host: FQDN("ruoyi-admin") } }], timeout: "30s", retries }],
            });
            assert.deepEqual(findObject(objects, "VirtualService", "ruoyi-ui", NS).spec, {
                hosts: [FQDN("ruoyi-ui")],
                http: [{ route: [{ destination: { host: FQDN("ruoyi-ui") } }], timeout: "15s", retries }],
            });
        });

        it("exposes ruoyi-ui through the ingress gateway's selector", () => {
            const objects = runs.get("istio")!;
            assert.deepEqual(findObject(objects, "Gateway", "ruoyi-ui-ingress", NS).spec, {
                selector: { app: "istio-ingressgateway", istio: "ingressgateway" },
                servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["ruoyi.example.com"] }],
            });
            assert.deepEqual(findObject(objects, "VirtualService", "ruoyi-ui-ingress", NS).spec, {
                hosts: ["ruoyi.example.com"],
                gateways: ["ruoyi-ui-ingress"],
                http: [
                    {
                        match: [{ uri: { prefix: "/" } }],
                        route: [{ destination: { host: FQDN("ruoyi-ui"), port: { number: 80 } } }],
                        timeout: "15s",
                        retries: { attempts: 2, perTryTimeout: "5s", retryOn: "connect-failure,refused-stream,reset,unavailable,cancelled" },
                    },
                ],
            });
        });
    });

    describe("envoy bootstraps", () => {
        it("ruoyi-admin: inbound to the app, outbound to the headless Services on distinct local ports", () => {
            const objects = runs.get("envoy")!;
            const bootstrap = bootstrapOf(configMapStartingWith(objects, "ruoyi-admin-envoy-"));
            assert.deepEqual(summarize(bootstrap), {
                listeners: {
                    stats: "0.0.0.0:15090",
                    "inbound|15010": "0.0.0.0:15010",
                    "outbound|3306|ruoyi-mysql-mysql": "127.0.0.1:3306",
                    "outbound|6379|ruoyi-redis-redis": "127.0.0.1:6379",
                },
                clusters: {
                    admin: "STATIC 127.0.0.1:15000",
                    "inbound|15010": "STATIC 127.0.0.1:8080",
                    // The callees' own container ports, served by their pods in every mode (their sidecars' 15010 would not be, mid-switch).
                    "outbound|3306|ruoyi-mysql-mysql": "STRICT_DNS mysql-headless.ruoyi.svc.cluster.local:3306",
                    "outbound|6379|ruoyi-redis-redis": "STRICT_DNS redis-headless.ruoyi.svc.cluster.local:6379",
                },
            });
            // The env the app reads and the listeners the sidecar opens agree.
            const env = envOf(objects, "ruoyi-admin");
            assert.equal(summarize(bootstrap).listeners[`outbound|${env["MYSQL_PORT"]}|ruoyi-mysql-mysql`], env["MYSQL_ADDRESS"]);
            assert.equal(summarize(bootstrap).listeners[`outbound|${env["SPRING_REDIS_PORT"]}|ruoyi-redis-redis`], `${env["SPRING_REDIS_HOST"]}:${env["SPRING_REDIS_PORT"]}`);
        });

        it("ruoyi-ui: its HTTP route to ruoyi-admin applies ruoyi-admin's 30s timeout and retries", () => {
            const bootstrap = bootstrapOf(configMapStartingWith(runs.get("envoy")!, "ruoyi-ui-envoy-"));
            const outbound = bootstrap.static_resources.listeners.find((listener) => listener.name === "outbound|8080|ruoyi-ruoyi-admin-http");
            const route = outbound.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
            assert.deepEqual(route, {
                cluster: "outbound|8080|ruoyi-ruoyi-admin-http",
                auto_host_rewrite: true,
                timeout: "30s",
                retry_policy: { retry_on: "connect-failure,refused-stream,reset,unavailable,cancelled", num_retries: 2, per_try_timeout: "5s" },
            });
            assert.equal(summarize(bootstrap).clusters["outbound|8080|ruoyi-ruoyi-admin-http"], "STRICT_DNS ruoyi-admin-headless.ruoyi.svc.cluster.local:8080");
        });

        it("two dependencies on the same port, one on the app's own port and one with a distinct targetPort get distinct local ports", () => {
            const spec = {
                name: "shop",
                components: [
                    { name: "api", image: "shop/api:1", ports: [{ name: "http", port: 8080 }], dependsOn: ["orders-db", "users-db", "cache", "web"] },
                    { name: "orders-db", image: "postgres:17", ports: [{ name: "pg", port: 5432, protocol: "tcp" }] },
                    { name: "users-db", image: "postgres:17", ports: [{ name: "pg", port: 5432, protocol: "tcp" }] },
                    { name: "cache", image: "redis:7", ports: [{ name: "redis", port: 6379, targetPort: 16379, protocol: "tcp" }] },
                    { name: "web", image: "shop/web:1", ports: [{ name: "http", port: 8080 }] },
                ],
            };
            const rendered = render([{ spec, mode: "envoy" }]).get("shop")!;
            const configMap = rendered.objects.find((object) => object.name === "shop-api-envoy")!.manifest as Record<string, any>;
            const bootstrap = bootstrapOf(configMap);
            assert.deepEqual(validateEnvoyBootstrap(bootstrap), []);
            assert.deepEqual(summarize(bootstrap), {
                listeners: {
                    stats: "0.0.0.0:15090",
                    "inbound|15010": "0.0.0.0:15010",
                    "outbound|5432|shop-orders-db-pg": "127.0.0.1:5432",
                    "outbound|6379|shop-cache-redis": "127.0.0.1:6379",
                    "outbound|20000|shop-users-db-pg": "127.0.0.1:20000",
                    "outbound|20001|shop-web-http": "127.0.0.1:20001",
                },
                clusters: {
                    admin: "STATIC 127.0.0.1:15000",
                    "inbound|15010": "STATIC 127.0.0.1:8080",
                    "outbound|5432|shop-orders-db-pg": "STRICT_DNS orders-db-headless.shop.svc.cluster.local:5432",
                    "outbound|6379|shop-cache-redis": "STRICT_DNS cache-headless.shop.svc.cluster.local:16379",
                    "outbound|20000|shop-users-db-pg": "STRICT_DNS users-db-headless.shop.svc.cluster.local:5432",
                    "outbound|20001|shop-web-http": "STRICT_DNS web-headless.shop.svc.cluster.local:8080",
                },
            });
            const deployment = manifestOf(rendered, "Deployment", "api") as Record<string, any>;
            const env = Object.fromEntries((deployment.spec.template.spec.containers[0].env as { name: string; value: string }[]).map((entry) => [entry.name, entry.value]));
            assert.deepEqual(
                [env["ORDERS_DB_ADDR"], env["USERS_DB_ADDR"], env["CACHE_ADDR"], env["WEB_URL"]],
                ["127.0.0.1:5432", "127.0.0.1:20000", "127.0.0.1:6379", "http://127.0.0.1:20001"],
            );
        });

        it("dials a callee outside envoy mode on its container port too (a headless Service does no port translation)", () => {
            const legacy = { name: "legacy", mode: "native" as ModeName, components: [{ name: "cache", image: "redis:7", ports: [{ name: "redis", port: 6379, targetPort: 16379, protocol: "tcp" }] }] };
            const shop = { name: "shop", components: [{ name: "api", image: "shop/api:1", ports: [{ name: "http", port: 8080 }], dependsOn: ["legacy/cache"] }] };
            const rendered = render([{ spec: legacy }, { spec: shop, mode: "envoy" }]).get("shop")!;
            const bootstrap = bootstrapOf(rendered.objects.find((object) => object.name === "shop-api-envoy")!.manifest as Record<string, any>);
            assert.equal(summarize(bootstrap).clusters["outbound|6379|legacy-cache-redis"], "STRICT_DNS cache-headless.legacy.svc.cluster.local:16379");
        });

        it("the config-hash annotation (and the ConfigMap) change when a dependency's traffic policy changes, and only for its callers", () => {
            const before = render([{ spec: ruoyiSpec(), mode: "envoy" }]).get("ruoyi")!;
            const changed = ruoyiSpec();
            changed["components"].find((component: { name: string }) => component.name === "mysql").traffic = { connectTimeout: "2s" };
            const after = render([{ spec: changed, mode: "envoy" }]).get("ruoyi")!;
            const hashes = (rendered: RenderedApp) =>
                Object.fromEntries(
                    WORKLOADS.map(([kind, name]) => {
                        const template = (manifestOf(rendered, kind, name) as Record<string, any>).spec.template;
                        const hash = template.metadata.annotations[ENVOY_CONFIG_HASH_ANNOTATION] as string;
                        assert.match(hash, /^[0-9a-f]{10}$/);
                        assert.equal(template.spec.volumes.find((volume: { name: string }) => volume.name === "envoy-config").configMap.name, `${name}-envoy-${hash}`);
                        return [name, hash];
                    }),
                );
            const [old, now] = [hashes(before), hashes(after)];
            assert.notEqual(now["ruoyi-admin"], old["ruoyi-admin"]);
            assert.deepEqual({ ...now, "ruoyi-admin": "" }, { ...old, "ruoyi-admin": "" });
            const cluster = bootstrapOf(manifestOf(after, "ConfigMap", `ruoyi-admin-envoy-${now["ruoyi-admin"]}`) as Record<string, any>).static_resources.clusters.find(
                (candidate) => candidate.name === "outbound|3306|ruoyi-mysql-mysql",
            );
            assert.equal(cluster.connect_timeout, "2s");
            // The Pulumi resource name stays put: the new ConfigMap replaces the old under the same key.
            assert.deepEqual(
                after.objects.filter((object) => object.manifest.kind === "ConfigMap").map((object) => object.name),
                before.objects.filter((object) => object.manifest.kind === "ConfigMap").map((object) => object.name),
            );
        });
    });

    describe("cross-mode dependencies", () => {
        const billing = (mode?: ModeName) => ({
            name: "billing",
            ...(mode ? { mode } : {}),
            components: [{ name: "worker", image: "billing/worker:1", dependsOn: ["ruoyi/ruoyi-admin"] }],
        });

        const PLAINTEXT_REASON = "pluggable-mesh.io/permissive-reason";
        const adminSelector = { matchLabels: { "app.kubernetes.io/name": "ruoyi-admin", "app.kubernetes.io/instance": "ruoyi" } };

        it("a native app calling an istio-mode app under STRICT opens only the port it calls, on that component only, with a warning saying what to whom", () => {
            const rendered = render(
                [
                    { spec: ruoyiSpec(), mode: "istio" },
                    { spec: billing(), mode: "native" },
                ],
                "STRICT",
            );
            const ruoyi = rendered.get("ruoyi")!;
            assert.deepEqual(ruoyi.warnings, [
                "ruoyi/ruoyi-admin: mtls STRICT, but callers outside the Istio mesh have no identity: plaintext is accepted from billing/worker (mode native) on port 8080 (http); its NetworkPolicy admits only its declared callers there; every other port stays STRICT until they move to mode istio",
            ]);
            assert.deepEqual(manifestOf(ruoyi, "PeerAuthentication", "ruoyi-admin"), {
                apiVersion: "security.istio.io/v1",
                kind: "PeerAuthentication",
                metadata: { name: "ruoyi-admin", namespace: "ruoyi", annotations: { [PLAINTEXT_REASON]: "callers outside the Istio mesh: billing/worker (mode native) on port 8080 (http)" } },
                spec: { selector: adminSelector, mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "PERMISSIVE" } } },
            });
            // The other components stay STRICT on every port.
            for (const name of ["ruoyi-ui", "mysql", "redis"]) {
                assert.deepEqual((manifestOf(ruoyi, "PeerAuthentication", name) as Record<string, any>).spec.mtls, { mode: "STRICT" }, name);
                assert.equal((manifestOf(ruoyi, "PeerAuthentication", name) as Record<string, any>).spec.portLevelMtls, undefined, name);
            }
            // The plaintext caller has no principal: "no principal" is admitted on the port it declared only.
            assert.deepEqual((manifestOf(ruoyi, "AuthorizationPolicy", "ruoyi-admin") as Record<string, any>).spec.rules, [
                { from: [{ source: { principals: ["cluster.local/ns/ruoyi/sa/ruoyi-ruoyi-ui"] } }], to: [{ operation: { ports: ["8080"] } }] },
                { from: [{ source: { notPrincipals: ["*"] } }], to: [{ operation: { ports: ["8080"] } }] },
            ]);
            // The NetworkPolicy still names who may connect: ruoyi-ui and billing's worker only.
            const policy = manifestOf(ruoyi, "NetworkPolicy", "ruoyi-admin") as Record<string, any>;
            assert.deepEqual(
                policy.spec.ingress.map((rule: { from?: unknown[] }) => rule.from),
                [
                    [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "billing" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "worker", "app.kubernetes.io/instance": "billing" } } }],
                    [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "ruoyi-ui", "app.kubernetes.io/instance": "ruoyi" } } }],
                ],
            );
            assert.deepEqual(rendered.get("billing")!.warnings, ['app "billing": mode native does not encrypt or authenticate traffic; mtls STRICT is not enforced']);
            // The native caller reaches ruoyi-admin by its Service name.
            const worker = manifestOf(rendered.get("billing")!, "Deployment", "worker") as Record<string, any>;
            assert.deepEqual(
                worker.spec.template.spec.containers[0].env.find((entry: { name: string }) => entry.name === "RUOYI_ADMIN_URL"),
                { name: "RUOYI_ADMIN_URL", value: `http://${FQDN("ruoyi-admin")}:8080` },
            );
        });

        it("opens only the ports the caller declared: a component with two ports keeps the other STRICT", () => {
            const spec = ruoyiSpec();
            spec["components"].find((component: { name: string }) => component.name === "ruoyi-admin").ports.push({ name: "admin", port: 9090, protocol: "http" });
            const worker = { name: "billing", components: [{ name: "worker", image: "billing/worker:1", dependsOn: ["ruoyi/ruoyi-admin:admin"] }] };
            const ruoyi = render([{ spec, mode: "istio" }, { spec: worker, mode: "envoy" }], "STRICT").get("ruoyi")!;
            assert.deepEqual((manifestOf(ruoyi, "PeerAuthentication", "ruoyi-admin") as Record<string, any>).spec.portLevelMtls, { "9090": { mode: "PERMISSIVE" } });
            assert.deepEqual((manifestOf(ruoyi, "AuthorizationPolicy", "ruoyi-admin") as Record<string, any>).spec.rules[1], { from: [{ source: { notPrincipals: ["*"] } }], to: [{ operation: { ports: ["9090"] } }] });
            assert.deepEqual(ruoyi.warnings, [
                "ruoyi/ruoyi-admin: mtls STRICT, but callers outside the Istio mesh have no identity: plaintext is accepted from billing/worker (mode envoy) on port 9090 (admin); its NetworkPolicy admits only its declared callers there; every other port stays STRICT until they move to mode istio",
            ]);
        });

        it("says so when NetworkPolicies are off: then any pod without a sidecar can connect on the opened port", () => {
            const { apps, problems } = checkApps(
                [
                    { spec: ruoyiSpec(), mode: "istio" },
                    { spec: billing(), mode: "envoy" },
                ],
                { platform: { ...PLATFORM, networkPolicies: "off" }, defaultMtls: "STRICT" },
            );
            assert.deepEqual(problems, []);
            assert.deepEqual(renderApp(apps[0]!, { ...PLATFORM, networkPolicies: "off" }).warnings, [
                "ruoyi/ruoyi-admin: mtls STRICT, but callers outside the Istio mesh have no identity: plaintext is accepted from billing/worker (mode envoy) on port 8080 (http); NetworkPolicies are off, so any pod without a sidecar can connect there; every other port stays STRICT until they move to mode istio",
            ]);
        });

        it("a production stack refuses it, naming the callers and the key that allows it", () => {
            const platform = { ...PLATFORM, istio: { ...PLATFORM.istio!, refusePlaintextCallers: true } };
            const { problems } = checkApps([{ spec: ruoyiSpec(), mode: "istio" }, { spec: billing(), mode: "native" }], { platform, defaultMtls: "STRICT" });
            assert.deepEqual(problems, [
                {
                    key: "pluggable-mesh:istio.allowPlaintextCallers",
                    message:
                        "ruoyi/ruoyi-admin has mtls STRICT in a production stack, but callers outside the Istio mesh would need plaintext: billing/worker (mode native) on port 8080 (http); move them to mode istio, or set this key to true to open exactly those ports to them",
                },
            ]);
            // Not refused when every caller is in the mesh, or the app is PERMISSIVE.
            assert.deepEqual(checkApps([{ spec: ruoyiSpec(), mode: "istio" }, { spec: billing(), mode: "istio" }], { platform, defaultMtls: "STRICT" }).problems, []);
            assert.deepEqual(checkApps([{ spec: ruoyiSpec(), mode: "istio" }, { spec: billing(), mode: "native" }], { platform, defaultMtls: "PERMISSIVE" }).problems, []);
        });

        it("stays STRICT on every port, without warnings, when every caller is in mode istio", () => {
            const rendered = render(
                [
                    { spec: ruoyiSpec(), mode: "istio" },
                    { spec: billing("istio") },
                ],
                "STRICT",
            );
            const ruoyi = rendered.get("ruoyi")!;
            assert.deepEqual(ruoyi.warnings, []);
            assert.deepEqual((manifestOf(ruoyi, "PeerAuthentication", "ruoyi-admin") as Record<string, any>).spec, { selector: adminSelector, mtls: { mode: "STRICT" } });
            assert.deepEqual((manifestOf(ruoyi, "AuthorizationPolicy", "ruoyi-admin") as Record<string, any>).spec.rules, [
                {
                    from: [{ source: { principals: ["cluster.local/ns/billing/sa/billing-worker", "cluster.local/ns/ruoyi/sa/ruoyi-ruoyi-ui"] } }],
                    to: [{ operation: { ports: ["8080"] } }],
                },
            ]);
        });

        it("keeps PERMISSIVE as asked when the stack is PERMISSIVE, without a warning; plaintext callers still get only their ports", () => {
            const rendered = render([
                { spec: ruoyiSpec(), mode: "istio" },
                { spec: billing(), mode: "native" },
            ]);
            const ruoyi = rendered.get("ruoyi")!;
            assert.deepEqual(ruoyi.warnings, []);
            assert.deepEqual((manifestOf(ruoyi, "PeerAuthentication", "ruoyi-admin") as Record<string, any>).spec, { selector: adminSelector, mtls: { mode: "PERMISSIVE" } });
            assert.deepEqual((manifestOf(ruoyi, "AuthorizationPolicy", "ruoyi-admin") as Record<string, any>).spec.rules[1], { from: [{ source: { notPrincipals: ["*"] } }], to: [{ operation: { ports: ["8080"] } }] });
        });
    });
});

describe("trust domain", () => {
    it("every principal, the ingress gateway's included, carries the stack's trust domain", () => {
        const stack = loadStack(ruoyiConfig("istio", { "pluggable-mesh:trustDomain": "corp.example" }), { projectRoot: PROJECT_ROOT });
        assert.equal(stack.platform.istio?.gateway?.principal, "corp.example/ns/istio-system/sa/istio-ingressgateway");
        const rendered = renderApp(stack.apps[0]!, stack.platform);
        const ui = manifestOf(rendered, "AuthorizationPolicy", "ruoyi-ui") as Record<string, any>;
        assert.deepEqual(ui.spec.rules[0].from[0].source.principals, ["corp.example/ns/istio-system/sa/istio-ingressgateway"]);
    });
});

describe("Ingress await", () => {
    for (const mode of ["native", "envoy", "linkerd"] as ModeName[]) {
        it(`${mode}: Pulumi waits for an Ingress address unless the stack says the cluster has no ingress controller`, () => {
            const { apps, problems } = checkApps([{ spec: ruoyiSpec(), mode }], { platform: PLATFORM });
            assert.deepEqual(problems, []);
            const ingressOf = (platform: Platform) => manifestOf(renderApp(apps[0]!, platform), "Ingress", "ruoyi-ui");
            assert.equal(ingressOf(PLATFORM).metadata.annotations, undefined);
            assert.deepEqual(ingressOf({ ...PLATFORM, ingressController: false }).metadata.annotations, { "pulumi.com/skipAwait": "true" });
        });
    }
});

/** The port name each RuoYi component serves. */
function workloadPortName(component: string): string {
    return { "ruoyi-ui": "http", "ruoyi-admin": "http", mysql: "mysql", redis: "redis" }[component]!;
}
