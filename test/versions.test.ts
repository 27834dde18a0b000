import assert from "node:assert/strict";
import { checkApps, renderApp } from "../components/app";
import { PLATFORM_DEFAULTS, type Platform } from "../components/modes";
import { MODE_NAMES, resolveTraffic, type ModeName } from "../components/model";
import { envoyBootstrapProblems } from "../components/modes/envoy/bootstrap";
import type { Manifest } from "../components/model";
import { validateEnvoyBootstrap } from "./support/envoyApi";

/**
 * Versions of one component and a weighted split between them (issue #13 §3): the model, the
 * problems it refuses with, and what each mode renders. The upstream comparison is in
 * bookinfo.test.ts.
 */

const PLATFORM: Platform = {
    ...PLATFORM_DEFAULTS,
    istio: {
        namespace: "istio-system",
        trustDomain: "cluster.local",
        podInjectionLabels: { "sidecar.istio.io/inject": "true" },
        namespaceInjectionLabels: {},
        gateway: { namespace: "istio-system", selector: { istio: "ingressgateway" }, principal: "cluster.local/ns/istio-system/sa/istio-ingressgateway" },
    },
    linkerd: { namespace: "linkerd" },
};

const IMAGE = (version: string) => `docker.io/example/reviews:${version}`;

/** A small app: a page calling reviews, which runs in three versions with an 80/20 split. */
function shop(reviews: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "shop",
        components: [
            { name: "page", image: "docker.io/example/page:1.0", ports: [{ name: "http", port: 9080 }], dependsOn: ["reviews"] },
            {
                name: "reviews",
                versions: ["v1", "v2", "v3"].map((name) => ({ name, image: IMAGE(name) })),
                ports: [{ name: "http", port: 9080 }],
                traffic: { split: { v1: 80, v2: 20 } },
                ...reviews,
            },
        ],
    };
}

function problemsOf(spec: unknown): string[] {
    return checkApps([{ spec, source: "shop.yaml" }], { platform: PLATFORM }).problems.map((problem) => `${problem.key}: ${problem.message}`);
}

function render(spec: unknown, mode: ModeName): { objects: Manifest[]; warnings: string[] } {
    const { apps, problems } = checkApps([{ spec, mode }], { platform: PLATFORM });
    assert.deepEqual(problems, []);
    const rendered = renderApp(apps[0]!, PLATFORM);
    return { objects: rendered.objects.map((object) => object.manifest), warnings: rendered.warnings };
}

function find(objects: readonly Manifest[], kind: string, name: string): Record<string, any> {
    const found = objects.filter((object) => object.kind === kind && object.metadata.name === name);
    assert.equal(found.length, 1, `${kind}/${name}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
    return found[0] as Record<string, any>;
}

const SELECTOR = { "app.kubernetes.io/name": "reviews", "app.kubernetes.io/instance": "shop" };

describe("versions and weighted splits", () => {
    describe("in every mode", () => {
        for (const mode of MODE_NAMES) {
            it(`${mode}: one Deployment per version selecting its version label, one Service for all, a headless Service per version`, () => {
                const { objects } = render(shop(), mode);
                for (const version of ["v1", "v2", "v3"]) {
                    const deployment = find(objects, "Deployment", `reviews-${version}`);
                    assert.deepEqual(deployment.spec.selector, { matchLabels: { ...SELECTOR, "app.kubernetes.io/version": version } });
                    assert.equal(deployment.spec.template.metadata.labels["app.kubernetes.io/version"], version);
                    assert.equal(deployment.spec.template.spec.containers[0].image, IMAGE(version));
                    const headless = find(objects, "Service", `reviews-${version}-headless`);
                    assert.deepEqual(headless.spec.selector, { ...SELECTOR, "app.kubernetes.io/version": version });
                    assert.equal(headless.spec.clusterIP, "None");
                }
                assert.deepEqual(find(objects, "Service", "reviews").spec.selector, SELECTOR);
                assert.deepEqual(find(objects, "Service", "reviews-headless").spec.selector, SELECTOR);
                assert.equal(objects.filter((object) => object.kind === "Deployment" && object.metadata.name.startsWith("reviews")).length, 3);
            });
        }

        it("Deployments and Services are the same in every mode apart from the pod template (a mode switch replaces nothing)", () => {
            const identity = (mode: ModeName) =>
                render(shop(), mode)
                    .objects.filter((object) => object.kind === "Deployment" || object.kind === "Service")
                    .map((object) => {
                        const { template, ...rest } = ((object as Record<string, any>).spec ?? {}) as Record<string, unknown>;
                        return { kind: object.kind, name: object.metadata.name, spec: object.kind === "Service" ? (object as Record<string, any>).spec : rest, hasTemplate: template !== undefined };
                    });
            const native = identity("native");
            assert.equal(native.length, 3 + 5 + 3, "reviews: 3 Deployments, 5 Services; page: a Deployment and 2 Services");
            for (const mode of MODE_NAMES) {
                if (mode === "native" || mode === "linkerd") continue; // linkerd annotates Services (its traffic policy), never their specs
                assert.deepEqual(identity(mode), native, mode);
            }
        });

        it("a version's env goes over the component's, and its replicas over the component's", () => {
            const { objects } = render(
                shop({ env: { LOG_DIR: "/tmp/logs", COLOR: "none" }, replicas: 2, versions: [{ name: "v1", image: IMAGE("v1"), env: { COLOR: "red" }, replicas: 3 }, { name: "v2", image: IMAGE("v2") }] }),
                "native",
            );
            const v1 = find(objects, "Deployment", "reviews-v1");
            assert.equal(v1.spec.replicas, 3);
            assert.deepEqual(v1.spec.template.spec.containers[0].env.slice(0, 2), [{ name: "LOG_DIR", value: "/tmp/logs" }, { name: "COLOR", value: "red" }]);
            const v2 = find(objects, "Deployment", "reviews-v2");
            assert.equal(v2.spec.replicas, 2);
            assert.deepEqual(v2.spec.template.spec.containers[0].env.slice(0, 2), [{ name: "LOG_DIR", value: "/tmp/logs" }, { name: "COLOR", value: "none" }]);
        });

        it("one declared version: a Deployment <component>-<version> and no per-version Service", () => {
            const { objects } = render(shop({ versions: [{ name: "v1", image: IMAGE("v1") }], traffic: undefined }), "istio");
            find(objects, "Deployment", "reviews-v1");
            assert.deepEqual(objects.filter((object) => object.kind === "Service").map((object) => object.metadata.name).sort(), ["page", "page-headless", "reviews", "reviews-headless"]);
            assert.deepEqual(find(objects, "DestinationRule", "reviews").spec.subsets, [{ name: "v1", labels: { "app.kubernetes.io/version": "v1" } }]);
        });
    });

    describe("istio", () => {
        it("a DestinationRule subset per version and the split as VirtualService weights", () => {
            const { objects, warnings } = render(shop(), "istio");
            const host = "reviews.shop.svc.cluster.local";
            assert.deepEqual(find(objects, "DestinationRule", "reviews").spec.subsets, [
                { name: "v1", labels: { "app.kubernetes.io/version": "v1" } },
                { name: "v2", labels: { "app.kubernetes.io/version": "v2" } },
                { name: "v3", labels: { "app.kubernetes.io/version": "v3" } },
            ]);
            assert.deepEqual(find(objects, "VirtualService", "reviews").spec.http[0].route, [
                { destination: { host, subset: "v1" }, weight: 80 },
                { destination: { host, subset: "v2" }, weight: 20 },
            ]);
            // Each version's pods carry Istio's own version label with their version (Kiali, telemetry).
            assert.equal(find(objects, "Deployment", "reviews-v3").spec.template.metadata.labels.version, "v3");
            assert.deepEqual(warnings, []);
        });

        it("the split applies at the ingress gateway too", () => {
            const { objects } = render(shop({ expose: { port: "http", host: "reviews.example.com" } }), "istio");
            const host = "reviews.shop.svc.cluster.local";
            assert.deepEqual(find(objects, "VirtualService", "reviews-ingress").spec.http[0].route, [
                { destination: { host, port: { number: 9080 }, subset: "v1" }, weight: 80 },
                { destination: { host, port: { number: 9080 }, subset: "v2" }, weight: 20 },
            ]);
        });

        it("without a split: subsets, and one route to the Service (every version alike)", () => {
            const { objects } = render(shop({ traffic: undefined }), "istio");
            assert.equal(find(objects, "DestinationRule", "reviews").spec.subsets.length, 3);
            assert.deepEqual(find(objects, "VirtualService", "reviews").spec.http[0].route, [{ destination: { host: "reviews.shop.svc.cluster.local" } }]);
        });

        it("a component without versions gets no subsets (negative control)", () => {
            const { objects } = render(shop(), "istio");
            assert.equal(find(objects, "DestinationRule", "page").spec.subsets, undefined);
        });
    });

    describe("native", () => {
        it("cannot split: a warning naming the declared weights and what happens instead", () => {
            assert.deepEqual(render(shop(), "native").warnings, [
                "shop/reviews: mode native has no proxy to split traffic between versions (declared v1 80%, v2 20%); only callers in mode envoy apply it, every other caller reaches every version in proportion to its replicas (v1 1, v2 1, v3 1)",
            ]);
            assert.deepEqual(render(shop({ traffic: undefined }), "native").warnings, [], "no split, no warning (negative control)");
        });
    });

    describe("envoy", () => {
        const bootstrapOf = (objects: readonly Manifest[], component: string) => {
            const configMap = objects.find((object) => object.kind === "ConfigMap" && object.metadata.name.startsWith(`${component}-envoy-`)) as Record<string, any>;
            return JSON.parse(configMap.data["envoy.json"]) as Record<string, any>;
        };

        it("the caller's sidecar routes by weight to a cluster per version, each on that version's headless Service", () => {
            const { objects, warnings } = render(shop(), "envoy");
            const bootstrap = bootstrapOf(objects, "page");
            const listener = bootstrap.static_resources.listeners.find((candidate: { name: string }) => candidate.name === "outbound|20000|shop-reviews-http");
            const route = listener.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
            assert.deepEqual(route.weighted_clusters, {
                clusters: [
                    { name: "outbound|20000|shop-reviews-http|v1", weight: 80 },
                    { name: "outbound|20000|shop-reviews-http|v2", weight: 20 },
                ],
            });
            assert.equal(route.cluster, undefined);
            const clusters = bootstrap.static_resources.clusters.filter((cluster: { name: string }) => cluster.name.includes("shop-reviews"));
            assert.deepEqual(
                clusters.map((cluster: Record<string, any>) => [cluster.name, cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address]),
                [
                    ["outbound|20000|shop-reviews-http|v1", { address: "reviews-v1-headless.shop.svc.cluster.local", port_value: 9080 }],
                    ["outbound|20000|shop-reviews-http|v2", { address: "reviews-v2-headless.shop.svc.cluster.local", port_value: 9080 }],
                ],
            );
            assert.deepEqual(validateEnvoyBootstrap(bootstrap), []);
            assert.deepEqual(warnings, []);
        });

        it("without a split: one cluster on the component's headless Service (negative control)", () => {
            const bootstrap = bootstrapOf(render(shop({ traffic: undefined }), "envoy").objects, "page");
            const names = bootstrap.static_resources.clusters.map((cluster: { name: string }) => cluster.name).filter((name: string) => name.includes("shop-reviews"));
            assert.deepEqual(names, ["outbound|20000|shop-reviews-http"]);
        });

        it("the bootstrap refuses a split it cannot build: a tcp dependency, a zero weight, a version twice", () => {
            const policy = resolveTraffic();
            const input = {
                nodeId: "shop.page",
                cluster: "page",
                adminPort: 15000,
                statsPort: 15090,
                inbound: [],
                outbound: [
                    {
                        name: "shop-db",
                        protocol: "tcp" as const,
                        localPort: 5432,
                        upstreamHost: "db-headless.shop.svc.cluster.local",
                        upstreamPort: 5432,
                        policy,
                        split: [
                            { version: "v1", upstreamHost: "db-v1-headless.shop.svc.cluster.local", weight: 0 },
                            { version: "v1", upstreamHost: "db-v1-headless.shop.svc.cluster.local", weight: 100 },
                        ],
                    },
                ],
            };
            assert.deepEqual(
                envoyBootstrapProblems(input).map((problem) => `${problem.key}: ${problem.message}`),
                [
                    "outbound[0].split: splits HTTP requests, but the dependency is tcp; envoy's tcp_proxy is given one cluster",
                    "outbound[0].split[0].weight: 0 is out of range; use an integer from 1 to 4294967295",
                    'outbound[0].split[1].version: "v1" is used twice; each version gets one cluster',
                ],
            );
        });

        it("an Ingress does not split: exposing a split component says so", () => {
            assert.deepEqual(render(shop({ expose: { port: "http", host: "reviews.example.com" } }), "envoy").warnings, [
                "shop/reviews: the split between its versions (declared v1 80%, v2 20%) is applied by the callers' proxies; the Ingress does not apply it and reaches every version in proportion to its replicas (v1 1, v2 1, v3 1)",
            ]);
        });
    });

    describe("linkerd", () => {
        it("the split as a Gateway API HTTPRoute on the Service, a weighted backend per version's headless Service", () => {
            const { objects, warnings } = render(shop(), "linkerd");
            // The default retryOn has no HTTP status Linkerd could retry on: the timeout only (docs/linkerd.md).
            const annotations = { "timeout.linkerd.io/request": "15s" };
            assert.deepEqual(find(objects, "HTTPRoute", "reviews-http"), {
                apiVersion: "gateway.networking.k8s.io/v1",
                kind: "HTTPRoute",
                metadata: { name: "reviews-http", namespace: "shop", annotations },
                spec: {
                    parentRefs: [{ group: "core", kind: "Service", name: "reviews", port: 9080 }],
                    rules: [
                        {
                            backendRefs: [
                                { name: "reviews-v1-headless", port: 9080, weight: 80 },
                                { name: "reviews-v2-headless", port: 9080, weight: 20 },
                            ],
                        },
                    ],
                },
            });
            // The route repeats the Service's timeout and retries: a route's own annotations would override them.
            const service = find(objects, "Service", "reviews");
            for (const [key, value] of Object.entries(annotations)) assert.equal(service.metadata.annotations[key], value, key);
            assert.deepEqual(warnings.filter((warning) => warning.includes("split")), []);
        });

        it("no split, no HTTPRoute (negative control)", () => {
            assert.deepEqual(render(shop({ traffic: undefined }), "linkerd").objects.filter((object) => object.kind === "HTTPRoute"), []);
        });
    });

    describe("callers in another mode", () => {
        it("istio: a native caller bypasses the VirtualService; an envoy caller applies the split itself", () => {
            const caller = (name: string) => ({ name, components: [{ name: "client", image: "docker.io/example/client:1", dependsOn: ["shop/reviews"] }] });
            const { apps, problems } = checkApps(
                [
                    { spec: shop(), mode: "istio" },
                    { spec: caller("plain"), mode: "native" },
                    { spec: caller("sidecar"), mode: "envoy" },
                ],
                { platform: PLATFORM },
            );
            assert.deepEqual(problems, []);
            assert.deepEqual(renderApp(apps[0]!, PLATFORM).warnings, [
                "shop/reviews: the split between its versions (declared v1 80%, v2 20%) is applied by the callers' proxies; plain/client (mode native) does not apply it and reaches every version in proportion to its replicas (v1 1, v2 1, v3 1)",
            ]);
        });
    });

    describe("problems", () => {
        const at = "shop.yaml: components[1]";
        const cases: [string, Record<string, unknown>, string[]][] = [
            ["weights that do not add up to 100", { traffic: { split: { v1: 80, v2: 30 } } }, [`${at}.traffic.split: weights add up to 110; they are percentages and must add up to 100`]],
            [
                "a split naming an undeclared version",
                { traffic: { split: { v1: 80, v9: 20 } } },
                [`${at}.traffic.split: "v9" is not a version of component "reviews"; use v1, v2, v3`],
            ],
            [
                "a split without versions",
                { versions: undefined, image: IMAGE("v1") },
                [`${at}.traffic.split: component "reviews" declares no versions; a split needs two versions or more in versions`],
            ],
            [
                "a split over one version",
                { versions: [{ name: "v1", image: IMAGE("v1") }], traffic: { split: { v1: 100 } } },
                [`${at}.traffic.split: component "reviews" declares one version; a split needs two versions or more in versions`],
            ],
            [
                "version beside versions",
                { version: "v7" },
                [`${at}.version: component "reviews" declares versions, so version "v7" has no workload; drop version and name each entry of versions`],
            ],
            ["image beside versions", { image: IMAGE("v1") }, [`${at}.image: component "reviews" declares versions, each with its own image, so this image would run nowhere; drop it`]],
            ["no image and no versions", { versions: undefined, traffic: undefined }, [`${at}.image: required (or declare versions, each with its image)`]],
            [
                "a version declared twice",
                { versions: [{ name: "v1", image: IMAGE("v1") }, { name: "v1", image: IMAGE("v2") }], traffic: undefined },
                [`${at}.versions[1].name: version "v1" is declared twice in component "reviews"`],
            ],
            [
                "a split over a tcp port",
                { ports: [{ name: "http", port: 9080 }, { name: "db", port: 5432, protocol: "tcp" }] },
                [`${at}.traffic.split: a split routes HTTP requests, and component "reviews" has the tcp port "db"; split only components whose ports are http, http2 or grpc`],
            ],
            [
                "storage beside versions",
                { storage: { size: "1Gi", mountPath: "/data" }, traffic: undefined },
                [`${at}.versions: component "reviews" has storage (a StatefulSet with claims per replica); versions run as Deployments, so drop one of storage and versions`],
            ],
        ];
        for (const [what, reviews, expected] of cases) {
            it(what, () => assert.deepEqual(problemsOf(shop(reviews)), expected));
        }

        it("names too long for the version's headless Service", () => {
            const long = "reviews-of-many-books";
            const spec = { name: "shop", components: [{ name: long, versions: [{ name: "v1", image: IMAGE("v1") }, { name: "x".repeat(40), image: IMAGE("v2") }] }] };
            assert.deepEqual(problemsOf(spec), [
                `shop.yaml: components[0].versions[1].name: the version's headless Service name "${long}-${"x".repeat(40)}-headless" has 71 characters, over Kubernetes' 63; shorten the component or version name`,
            ]);
        });

        it("a version's Deployment name taken by another component", () => {
            const spec = shop();
            (spec.components as Record<string, unknown>[]).push({ name: "reviews-v2", image: "docker.io/example/x:1", ports: [{ name: "http", port: 80 }] });
            assert.deepEqual(problemsOf(spec), [`shop.yaml: components[2].name: internal domain name "reviews-v2" is already used in namespace "shop" by shop/reviews; it must be unique per namespace`]);
        });

        it("split is refused on the app's traffic (it belongs to one component)", () => {
            const problems = problemsOf({ ...shop(), traffic: { split: { v1: 100 } } });
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0]!, /^shop\.yaml: traffic: .*split/);
        });

        it("the split as written in the shipped valid case has no problems (negative control)", () => {
            assert.deepEqual(problemsOf(shop()), []);
        });
    });
});
