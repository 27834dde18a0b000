import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { checkApps, type AppInput } from "../components/app/plan";
import { renderApp, type RenderedApp } from "../components/app/render";
import type { Manifest } from "../components/model";
import { inboundPolicy } from "../components/modes/linkerd";
import type { LinkerdInboundPolicy, Platform } from "../components/modes/mode";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { FEATURES_SPEC, RUOYI_SPEC, ruoyiConfig } from "./support/meshRuns";
import { validateManifest } from "./support/schemas";

/**
 * Linkerd mode's own objects: authorization from the dependency graph (Server, AuthorizationPolicy,
 * MeshTLSAuthentication, NetworkAuthentication), the default inbound policy, proxy-await, and gRPC
 * retries on GRPCRoutes. Every object rendered here also passes Linkerd's CRD schemas.
 */

const PLATFORM: Platform = loadStack(ruoyiConfig("linkerd"), { projectRoot: PROJECT_ROOT }).platform;
const POLICY = "policy.linkerd.io";

function ruoyiSpec(): Record<string, any> {
    return parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, RUOYI_SPEC), "utf8")) as Record<string, any>;
}

function render(inputs: AppInput[], options: { platform?: Platform; defaultMtls?: "STRICT" | "PERMISSIVE" } = {}): Map<string, RenderedApp> {
    const platform = options.platform ?? PLATFORM;
    const { apps, problems } = checkApps(inputs, { platform, defaultMtls: options.defaultMtls ?? "PERMISSIVE" });
    assert.deepEqual(problems, []);
    return new Map(apps.map((app) => [app.name, renderApp(app, platform)]));
}

/** `Kind/name` → spec of every Linkerd and Gateway API object, after checking each against the CRD schemas. */
async function linkerdObjects(rendered: RenderedApp): Promise<Record<string, unknown>> {
    const objects = rendered.objects.map((object) => object.manifest).filter((manifest) => /linkerd\.io|gateway\.networking\.k8s\.io/.test(manifest.apiVersion));
    for (const manifest of objects) await validateManifest(manifest as Manifest & { apiVersion: string; kind: string });
    return Object.fromEntries(objects.map((manifest) => [`${manifest.kind}/${manifest.metadata.name}`, manifest.kind.endsWith("Route") ? manifest : manifest.spec]));
}

const server = (name: string, port: number, proxyProtocol: string) => ({
    podSelector: { matchLabels: { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": "ruoyi" } },
    port,
    proxyProtocol,
    accessPolicy: "deny",
});
const authorization = (server: string, kind: "MeshTLSAuthentication" | "NetworkAuthentication", name: string) => ({
    targetRef: { group: POLICY, kind: "Server", name: server },
    requiredAuthenticationRefs: [{ group: POLICY, kind, name }],
});
const serviceAccounts = (...accounts: [namespace: string, name: string][]) => ({ identityRefs: accounts.map(([namespace, name]) => ({ kind: "ServiceAccount", name, namespace })) });
const ANY_NETWORK = { networks: [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }] };

const billing = (extra: Record<string, unknown> = {}) => ({
    name: "billing",
    components: [{ name: "worker", image: "billing/worker:1", dependsOn: ["ruoyi/ruoyi-admin"], ...extra }],
});

function podAnnotations(rendered: RenderedApp, kind: string, name: string): Record<string, string> {
    const workload = rendered.objects.find((object) => object.manifest.kind === kind && object.manifest.metadata.name === name)!.manifest as Record<string, any>;
    return workload.spec.template.metadata.annotations as Record<string, string>;
}

/** The namespace's annotations, without the Pod Security reason (test/podSecurity.test.ts checks it). */
function namespaceAnnotations(rendered: RenderedApp): Record<string, string> | undefined {
    const annotations = (rendered.objects.find((object) => object.manifest.kind === "Namespace")!.manifest as Record<string, any>).metadata.annotations as Record<string, string> | undefined;
    return annotations && Object.fromEntries(Object.entries(annotations).filter(([key]) => key !== "pluggable-mesh.io/pod-security-reason"));
}

describe("linkerd mode", () => {
    describe("authorization from the dependency graph", () => {
        it("RuoYi: a Server per port, the dependents' ServiceAccounts on every port, the exposed port open to the ingress controller", async () => {
            const ruoyi = render([{ spec: ruoyiSpec(), mode: "linkerd" }]).get("ruoyi")!;
            assert.deepEqual(await linkerdObjects(ruoyi), {
                "Server/ruoyi-ui.http": server("ruoyi-ui", 80, "HTTP/1"),
                "NetworkAuthentication/ruoyi-ui": ANY_NETWORK,
                "AuthorizationPolicy/ruoyi-ui.http.network": authorization("ruoyi-ui.http", "NetworkAuthentication", "ruoyi-ui"),
                "Server/ruoyi-admin.http": server("ruoyi-admin", 8080, "HTTP/1"),
                "MeshTLSAuthentication/ruoyi-admin.http": serviceAccounts(["ruoyi", "ruoyi-ruoyi-ui"]),
                "AuthorizationPolicy/ruoyi-admin.http.meshtls": authorization("ruoyi-admin.http", "MeshTLSAuthentication", "ruoyi-admin.http"),
                "Server/mysql.mysql": server("mysql", 3306, "opaque"),
                "MeshTLSAuthentication/mysql.mysql": serviceAccounts(["ruoyi", "ruoyi-ruoyi-admin"]),
                "AuthorizationPolicy/mysql.mysql.meshtls": authorization("mysql.mysql", "MeshTLSAuthentication", "mysql.mysql"),
                "Server/redis.redis": server("redis", 6379, "opaque"),
                "MeshTLSAuthentication/redis.redis": serviceAccounts(["ruoyi", "ruoyi-ruoyi-admin"]),
                "AuthorizationPolicy/redis.redis.meshtls": authorization("redis.redis", "MeshTLSAuthentication", "redis.redis"),
            });
            assert.deepEqual(ruoyi.warnings, [
                "ruoyi/ruoyi-ui: port http admits any client address (NetworkAuthentication ruoyi-ui) for the Ingress controller, which has no Linkerd identity; its NetworkPolicy admits only those callers there",
                'app "ruoyi": mode linkerd has no connection-pool limits (maxConnections, maxPendingRequests, maxRequests); not applied for ruoyi/ruoyi-ui, ruoyi/ruoyi-admin, ruoyi/mysql, ruoyi/redis',
                "ruoyi/ruoyi-ui: mode linkerd retries HTTP requests on response status (5xx, gateway-error, retriable-4xx) only; retryOn connect-failure, refused-stream, reset not applied to port http",
                "ruoyi/ruoyi-admin: mode linkerd retries HTTP requests on response status (5xx, gateway-error, retriable-4xx) only; retryOn connect-failure, refused-stream, reset not applied to port http",
            ]);
        });

        it("a meshed caller in another app and namespace is one more ServiceAccount reference; a component nobody calls admits no one", async () => {
            const rendered = render([
                { spec: ruoyiSpec(), mode: "linkerd" },
                { spec: { ...billing({ ports: [{ name: "http", port: 8080 }] }) }, mode: "linkerd" },
            ]);
            const ruoyi = await linkerdObjects(rendered.get("ruoyi")!);
            assert.deepEqual(ruoyi["MeshTLSAuthentication/ruoyi-admin.http"], serviceAccounts(["billing", "billing-worker"], ["ruoyi", "ruoyi-ruoyi-ui"]));
            assert.equal(ruoyi["NetworkAuthentication/ruoyi-admin"], undefined);
            // The worker's port has a Server (accessPolicy deny) and no AuthorizationPolicy: nothing may call it.
            const worker = await linkerdObjects(rendered.get("billing")!);
            assert.deepEqual(Object.keys(worker), ["Server/worker.http"]);
            assert.deepEqual(rendered.get("billing")!.warnings.filter((warning) => warning.includes("admits")), []);
        });

        for (const mode of ["native", "envoy", "istio"] as const) {
            it(`a caller in mode ${mode} has no Linkerd identity: the callee's ports admit any address, and a warning says which to whom`, async () => {
                const rendered = render([
                    { spec: ruoyiSpec(), mode: "linkerd" },
                    { spec: billing(), mode },
                ]);
                const ruoyi = await linkerdObjects(rendered.get("ruoyi")!);
                assert.deepEqual(ruoyi["NetworkAuthentication/ruoyi-admin"], ANY_NETWORK);
                assert.deepEqual(ruoyi["AuthorizationPolicy/ruoyi-admin.http.network"], authorization("ruoyi-admin.http", "NetworkAuthentication", "ruoyi-admin"));
                // The meshed caller keeps its identity-based policy; mysql and redis stay closed to the outside caller.
                assert.ok(ruoyi["AuthorizationPolicy/ruoyi-admin.http.meshtls"]);
                assert.equal(ruoyi["NetworkAuthentication/mysql"], undefined);
                assert.deepEqual(
                    rendered.get("ruoyi")!.warnings.filter((warning) => warning.startsWith("ruoyi/ruoyi-admin: port")),
                    [`ruoyi/ruoyi-admin: port http admits any client address (NetworkAuthentication ruoyi-admin) for billing/worker (mode ${mode}), which has no Linkerd identity; its NetworkPolicy admits only those callers there`],
                );
            });
        }

        it("each port admits the callers that declared it, and only there: by identity for meshed callers, by network for the others", async () => {
            const shop = {
                name: "shop",
                components: [
                    { name: "api", image: "shop/api:1", ports: [{ name: "http", port: 8080 }, { name: "grpc", port: 9090, protocol: "grpc" }] },
                    { name: "web", image: "shop/web:1", dependsOn: ["api:http"] },
                ],
            };
            const rendered = render([
                { spec: shop, mode: "linkerd" },
                { spec: { name: "jobs", components: [{ name: "runner", image: "jobs/runner:1", dependsOn: ["shop/api:grpc"] }] }, mode: "native" },
            ]);
            const objects = await linkerdObjects(rendered.get("shop")!);
            assert.deepEqual(
                Object.keys(objects).filter((key) => !key.startsWith("GRPCRoute/")),
                [
                    "Server/api.http",
                    "Server/api.grpc",
                    "MeshTLSAuthentication/api.http",
                    "AuthorizationPolicy/api.http.meshtls",
                    "NetworkAuthentication/api",
                    "AuthorizationPolicy/api.grpc.network",
                ],
            );
            assert.deepEqual(objects["MeshTLSAuthentication/api.http"], serviceAccounts(["shop", "shop-web"]));
            assert.deepEqual(objects["AuthorizationPolicy/api.grpc.network"], authorization("api.grpc", "NetworkAuthentication", "api"));
            assert.deepEqual(
                rendered.get("shop")!.warnings.filter((warning) => warning.includes("admits")),
                ["shop/api: port grpc admits any client address (NetworkAuthentication api) for jobs/runner (mode native), which has no Linkerd identity; its NetworkPolicy admits only those callers there"],
            );
        });

        it("a port published on a LoadBalancer or NodePort Service takes clients from anywhere: the network, with a warning", async () => {
            const spec = parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, FEATURES_SPEC), "utf8")) as Record<string, unknown>;
            const features = render([{ spec, mode: "linkerd" }]).get("features")!;
            const objects = await linkerdObjects(features);
            assert.deepEqual(
                Object.keys(objects).filter((key) => key.includes("network") || key.startsWith("NetworkAuthentication/")),
                ["NetworkAuthentication/api", "AuthorizationPolicy/api.http.network", "NetworkAuthentication/store", "AuthorizationPolicy/store.redis.network"],
            );
            assert.deepEqual(
                features.warnings.filter((warning) => warning.includes("admits any client address")),
                [
                    "features/api: port http admits any client address (NetworkAuthentication api) for the clients of Service api-public, which has no Linkerd identity; its NetworkPolicy admits any source there too (the port is published)",
                    "features/store: port redis admits any client address (NetworkAuthentication store) for the clients of Service store-public, which has no Linkerd identity; its NetworkPolicy admits any source there too (the port is published)",
                ],
            );
        });

        describe("in a production stack", () => {
            const inputs = (): AppInput[] => [
                { spec: ruoyiSpec(), mode: "linkerd" },
                { spec: billing(), mode: "native" },
            ];
            const production = { ...PLATFORM, linkerd: { ...PLATFORM.linkerd!, refusePlaintextCallers: true } };

            it("refuses a STRICT app whose callers outside the mesh would need the network, naming the key, port and callers", () => {
                const { problems } = checkApps(inputs(), { platform: production, defaultMtls: "STRICT" });
                assert.deepEqual(problems, [
                    {
                        key: "pluggable-mesh:linkerd.allowPlaintextCallers",
                        message:
                            "ruoyi/ruoyi-admin has mtls STRICT in a production stack, but callers outside the Linkerd mesh have no identity and could only be admitted by network: port 8080 (http) from billing/worker (mode native); move them to mode linkerd, or set this key to true to open exactly those ports to them",
                    },
                ]);
            });

            it("a PERMISSIVE app admits them as asked; the warning still names port and caller", () => {
                const rendered = render(inputs(), { platform: production });
                assert.deepEqual(
                    rendered.get("ruoyi")!.warnings.filter((warning) => warning.startsWith("ruoyi/ruoyi-admin: port")),
                    ["ruoyi/ruoyi-admin: port http admits any client address (NetworkAuthentication ruoyi-admin) for billing/worker (mode native), which has no Linkerd identity; its NetworkPolicy admits only those callers there"],
                );
            });

            for (const [name, extra, refuses] of [
                ["production refuses by default", { "pluggable-mesh:production": "true" }, true],
                ["allowPlaintextCallers lifts it", { "pluggable-mesh:production": "true", "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing", allowPlaintextCallers: true }) }, undefined],
                ["a stack that is not production never refuses", {}, undefined],
            ] as const) {
                it(`the stack: ${name}`, () => {
                    assert.equal(loadStack(ruoyiConfig("linkerd", extra), { projectRoot: PROJECT_ROOT }).platform.linkerd?.refusePlaintextCallers, refuses);
                });
            }

            it("says so when NetworkPolicies are off and nothing narrows the network", () => {
                const rendered = render(inputs(), { platform: { ...PLATFORM, networkPolicies: "off" } });
                assert.deepEqual(
                    rendered.get("ruoyi")!.warnings.filter((warning) => warning.startsWith("ruoyi/ruoyi-admin: port")),
                    ["ruoyi/ruoyi-admin: port http admits any client address (NetworkAuthentication ruoyi-admin) for billing/worker (mode native), which has no Linkerd identity; NetworkPolicies are off, so any pod can connect there"],
                );
            });
        });

        it("no warning says linkerd does not restrict who may call whom any more", () => {
            const warnings = render([{ spec: ruoyiSpec(), mode: "linkerd" }], { defaultMtls: "STRICT" }).get("ruoyi")!.warnings;
            assert.deepEqual(
                warnings.filter((warning) => /restrict who may call whom|mtls STRICT is not enforced/.test(warning)),
                [],
            );
        });
    });

    describe("default inbound policy", () => {
        const cases: [name: string, configured: LinkerdInboundPolicy | undefined, mtls: "STRICT" | "PERMISSIVE", expected: LinkerdInboundPolicy | undefined][] = [
            ["nothing configured, PERMISSIVE: Linkerd's cluster-wide default stays", undefined, "PERMISSIVE", undefined],
            ["nothing configured, STRICT: plaintext callers are refused", undefined, "STRICT", "all-authenticated"],
            ["deny stays deny under STRICT", "deny", "STRICT", "deny"],
            ["cluster-unauthenticated becomes cluster-authenticated under STRICT", "cluster-unauthenticated", "STRICT", "cluster-authenticated"],
            ["audit becomes all-authenticated under STRICT", "audit", "STRICT", "all-authenticated"],
            ["a configured policy is kept under PERMISSIVE", "all-unauthenticated", "PERMISSIVE", "all-unauthenticated"],
        ];
        for (const [name, configured, mtls, expected] of cases) {
            it(name, () => {
                const app = { mtls } as Parameters<typeof inboundPolicy>[0];
                assert.equal(inboundPolicy(app, { namespace: "linkerd", ...(configured ? { defaultInboundPolicy: configured } : {}) }), expected);
            });
        }

        const stackCases: [name: string, extra: Record<string, string>, expected: string | undefined][] = [
            ["a production stack denies by default, on the pods and the app's namespace", { "pluggable-mesh:production": "true" }, "deny"],
            ["a stack that is not production leaves Linkerd's default", {}, undefined],
            [
                "the stack key wins over production's default",
                { "pluggable-mesh:production": "true", "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing", defaultInboundPolicy: "cluster-authenticated" }) },
                "cluster-authenticated",
            ],
        ];
        for (const [name, extra, expected] of stackCases) {
            it(name, () => {
                const stack = loadStack(ruoyiConfig("linkerd", extra), { projectRoot: PROJECT_ROOT });
                const rendered = renderApp(stack.apps[0]!, stack.platform);
                assert.equal(podAnnotations(rendered, "Deployment", "ruoyi-admin")["config.linkerd.io/default-inbound-policy"], expected);
                assert.equal(podAnnotations(rendered, "StatefulSet", "mysql")["config.linkerd.io/default-inbound-policy"], expected);
                assert.deepEqual(namespaceAnnotations(rendered), { "linkerd.io/inject": "enabled", ...(expected ? { "config.linkerd.io/default-inbound-policy": expected } : {}) });
            });
        }

        it("refuses a policy Linkerd does not know, naming the key and the allowed values", () => {
            assert.throws(
                () => loadStack(ruoyiConfig("linkerd", { "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing", defaultInboundPolicy: "none" }) }), { projectRoot: PROJECT_ROOT }),
                {
                    message:
                        'invalid configuration (1 problem):\npluggable-mesh:linkerd.defaultInboundPolicy: "none" is not allowed; use one of all-unauthenticated, all-authenticated, cluster-unauthenticated, cluster-authenticated, deny, audit',
                },
            );
        });
    });

    describe("proxy-await", () => {
        it("is enabled by default: the app container starts once the proxy can carry its traffic", () => {
            const ruoyi = render([{ spec: ruoyiSpec(), mode: "linkerd" }]).get("ruoyi")!;
            assert.equal(podAnnotations(ruoyi, "Deployment", "ruoyi-admin")["config.linkerd.io/proxy-await"], "enabled");
        });

        it("the stack can turn it off", () => {
            const stack = loadStack(ruoyiConfig("linkerd", { "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing", proxyAwait: false }) }), { projectRoot: PROJECT_ROOT });
            assert.equal(podAnnotations(renderApp(stack.apps[0]!, stack.platform), "Deployment", "ruoyi-admin")["config.linkerd.io/proxy-await"], "disabled");
        });
    });

    describe("gRPC retries", () => {
        const api = (ports: Record<string, unknown>[], retries?: Record<string, unknown>) => ({
            name: "shop",
            ...(retries ? { traffic: { retries } } : {}),
            components: [{ name: "api", image: "shop/api:1", ports }],
        });
        const grpcRoute = (annotations: Record<string, string>) => ({
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "GRPCRoute",
            metadata: { name: "api-grpc", namespace: "shop", annotations: { "timeout.linkerd.io/request": "15s", ...annotations } },
            spec: {
                parentRefs: [{ group: "core", kind: "Service", name: "api", port: 9090 }],
                rules: [{ backendRefs: [{ name: "api", port: 9090 }] }],
            },
        });
        const serviceAnnotations = (rendered: RenderedApp) =>
            (rendered.objects.find((object) => object.manifest.kind === "Service" && object.manifest.metadata.name === "api")!.manifest as Record<string, any>).metadata.annotations;
        /** The Service annotations every component gets: the default circuit breaker as failure accrual, the default 15s timeout. */
        const baseAnnotations = {
            "balancer.linkerd.io/failure-accrual": "consecutive",
            "balancer.linkerd.io/failure-accrual-consecutive-max-failures": "5",
            "balancer.linkerd.io/failure-accrual-consecutive-min-penalty": "30s",
            "timeout.linkerd.io/request": "15s",
        };

        it("the default retryOn: a GRPCRoute retries unavailable and cancelled, and the conditions Linkerd cannot express are named", async () => {
            const shop = render([{ spec: api([{ name: "grpc", port: 9090, protocol: "grpc" }]), mode: "linkerd" }]).get("shop")!;
            const objects = await linkerdObjects(shop);
            assert.deepEqual(objects["GRPCRoute/api-grpc"], grpcRoute({ "retry.linkerd.io/grpc": "unavailable,cancelled", "retry.linkerd.io/limit": "2", "retry.linkerd.io/timeout": "5s" }));
            assert.deepEqual((objects["Server/api.grpc"] as Record<string, unknown>).proxyProtocol, "gRPC");
            // No HTTP port: no retry.linkerd.io/http on the Service; the timeout covers the gRPC route too.
            assert.deepEqual(serviceAnnotations(shop), baseAnnotations);
            assert.deepEqual(
                shop.warnings.filter((warning) => warning.includes("retries")),
                [
                    "shop/api: mode linkerd retries gRPC calls on grpc-status (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable) only; retryOn connect-failure, refused-stream, reset not applied to port grpc",
                ],
            );
        });

        it("HTTP and gRPC ports of one component: status conditions on the Service, grpc-status conditions on the GRPCRoute", async () => {
            const shop = render([
                {
                    spec: api(
                        [
                            { name: "http", port: 8080, protocol: "http" },
                            { name: "grpc", port: 9090, protocol: "grpc" },
                        ],
                        { attempts: 3, perTryTimeout: "2s", retryOn: ["5xx", "retriable-4xx", "deadline-exceeded", "unavailable"] },
                    ),
                    mode: "linkerd",
                },
            ]).get("shop")!;
            const objects = await linkerdObjects(shop);
            assert.deepEqual(objects["GRPCRoute/api-grpc"], grpcRoute({ "retry.linkerd.io/grpc": "deadline-exceeded,unavailable", "retry.linkerd.io/limit": "3", "retry.linkerd.io/timeout": "2s" }));
            assert.deepEqual(serviceAnnotations(shop), {
                ...baseAnnotations,
                "retry.linkerd.io/http": "5xx,409",
                "retry.linkerd.io/limit": "3",
                "retry.linkerd.io/timeout": "2s",
            });
            // 5xx and retriable-4xx mean nothing to gRPC in Linkerd (errors arrive as HTTP 200 with a grpc-status).
            assert.deepEqual(
                shop.warnings.filter((warning) => warning.includes("retries")),
                ["shop/api: mode linkerd retries gRPC calls on grpc-status (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable) only; retryOn 5xx, retriable-4xx not applied to port grpc"],
            );
        });

        it("a split of a gRPC port goes on its GRPCRoute (which takes precedence over HTTPRoutes), an HTTP port's on an HTTPRoute", async () => {
            const spec = {
                name: "shop",
                components: [
                    {
                        name: "api",
                        versions: [
                            { name: "v1", image: "shop/api:1" },
                            { name: "v2", image: "shop/api:2" },
                        ],
                        ports: [
                            { name: "http", port: 8080, protocol: "http" },
                            { name: "grpc", port: 9090, protocol: "grpc" },
                        ],
                        traffic: { split: { v1: 90, v2: 10 } },
                    },
                ],
            };
            const objects = await linkerdObjects(render([{ spec, mode: "linkerd" }]).get("shop")!);
            const weighted = (port: number) => [
                { name: "api-v1-headless", port, weight: 90 },
                { name: "api-v2-headless", port, weight: 10 },
            ];
            assert.deepEqual((objects["GRPCRoute/api-grpc"] as Record<string, any>).spec.rules, [{ backendRefs: weighted(9090) }]);
            assert.deepEqual((objects["HTTPRoute/api-http"] as Record<string, any>).spec.rules, [{ backendRefs: weighted(8080) }]);
            assert.deepEqual(Object.keys(objects).filter((key) => key.includes("Route/")), ["HTTPRoute/api-http", "GRPCRoute/api-grpc"]);
        });

        it("no GRPCRoute when nothing is to be retried: attempts 0, or no gRPC condition", async () => {
            for (const retries of [{ attempts: 0 }, { retryOn: ["5xx"] }]) {
                const shop = render([{ spec: api([{ name: "grpc", port: 9090, protocol: "grpc" }], retries), mode: "linkerd" }]).get("shop")!;
                assert.deepEqual(Object.keys(await linkerdObjects(shop)), ["Server/api.grpc"], JSON.stringify(retries));
            }
        });
    });
});
