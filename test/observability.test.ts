import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { openMockStack, valueOf, type MockStack } from "../mocks/mockEngine";
import { validateManifest, type Manifest } from "./support/schemas";
import type { RelabelConfig } from "../components/observability/prometheusConfig";

type ObservabilityModule = typeof import("../components/observability/observability");
type PrometheusConfigModule = typeof import("../components/observability/prometheusConfig");
type KialiConfigModule = typeof import("../components/observability/kialiConfig");

// Loaded with require() after openMockStack(), so no resource is created before the mocks exist.
let mocks: MockStack;
let obs: ObservabilityModule;
let prom: PrometheusConfigModule;
let kiali: KialiConfigModule;

const COMPONENT = "pluggable-mesh:observability:Observability";
const T = {
    namespace: "kubernetes:core/v1:Namespace",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    configMap: "kubernetes:core/v1:ConfigMap",
    secret: "kubernetes:core/v1:Secret",
    service: "kubernetes:core/v1:Service",
    deployment: "kubernetes:apps/v1:Deployment",
    clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
    clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    gateway: "kubernetes:networking.istio.io/v1:Gateway",
    virtualService: "kubernetes:networking.istio.io/v1:VirtualService",
};

/** The token the token controller would put in the login Secret. */
const LOGIN_TOKEN = "eyJhbGciOiJSUzI1NiJ9.kiali-login.signature";

/** What the cluster would report back: the login token, a node port, a load-balancer address. */
function clusterState(type: string, inputs: Record<string, any>): Record<string, any> | undefined {
    if (type === T.secret && inputs.type === "kubernetes.io/service-account-token") {
        return { data: { token: Buffer.from(LOGIN_TOKEN).toString("base64") } };
    }
    if (type === T.service && inputs.spec?.type === "NodePort") {
        return { spec: { ...inputs.spec, ports: inputs.spec.ports.map((port: any, index: number) => ({ ...port, nodePort: 31234 + index })) } };
    }
    if (type === T.service && inputs.spec?.type === "LoadBalancer") {
        return { status: { loadBalancer: { ingress: [{ ip: "203.0.113.10" }] } } };
    }
    return undefined;
}

/** Just enough of Prometheus' relabeling (RE2 regexes are fully anchored) to follow a target through our rules. */
function relabel(labels: Record<string, string>, rules: readonly RelabelConfig[]): Record<string, string> | undefined {
    const result = { ...labels };
    for (const rule of rules) {
        const regex = new RegExp(`^(?:${rule.regex ?? "(.*)"})$`);
        const value = (rule.source_labels ?? []).map((label: string) => result[label] ?? "").join(rule.separator ?? ";");
        const expand = (match: RegExpMatchArray) => (rule.replacement ?? "$1").replace(/\$(\d+)/g, (_: string, group: string) => match[Number(group)] ?? "");
        switch (rule.action ?? "replace") {
            case "keep":
                if (!regex.test(value)) return undefined;
                break;
            case "drop":
                if (regex.test(value)) return undefined;
                break;
            case "replace": {
                const match = value.match(regex);
                if (match && rule.target_label) result[rule.target_label] = expand(match);
                break;
            }
            case "labelmap":
                for (const [name, labelValue] of Object.entries({ ...result })) {
                    const match = name.match(regex);
                    if (match) result[expand(match)] = labelValue;
                }
                break;
            default:
                throw new Error(`relabel action ${rule.action} is not simulated`);
        }
    }
    return result;
}

/** Pod discovery labels as Prometheus' Kubernetes SD would produce them. */
function podTarget(ip: string, annotations: Record<string, string>, phase = "Running"): Record<string, string> {
    const labels: Record<string, string> = {
        __address__: `${ip.includes(":") ? `[${ip}]` : ip}:8080`,
        __metrics_path__: "/metrics",
        __scheme__: "http",
        __meta_kubernetes_namespace: "shop",
        __meta_kubernetes_pod_name: "orders-7d9f",
        __meta_kubernetes_pod_ip: ip,
        __meta_kubernetes_pod_phase: phase,
        __meta_kubernetes_pod_label_app: "orders",
    };
    for (const [key, value] of Object.entries(annotations)) {
        labels[`__meta_kubernetes_pod_annotation_${key.replace(/[^a-zA-Z0-9_]/g, "_")}`] = value;
    }
    return labels;
}

function job(name: string) {
    const config = prom.prometheusConfig({ istioNamespace: "istio-system", scrapeInterval: "15s", scrapeTimeout: "10s" });
    const found = config.scrape_configs.find((scrape) => scrape.job_name === name);
    assert.ok(found, `job ${name}`);
    return found;
}

describe("Prometheus configuration", () => {
    before(() => {
        prom = require("../components/observability/prometheusConfig") as PrometheusConfigModule;
    });

    it("has the prometheus, istiod and annotated-pods jobs with the given intervals", () => {
        const config = prom.prometheusConfig({ istioNamespace: "mesh-system", scrapeInterval: "30s", scrapeTimeout: "10s" });
        assert.deepEqual(config.global, { scrape_interval: "30s", scrape_timeout: "10s", evaluation_interval: "1m" });
        assert.deepEqual(config.scrape_configs.map((scrape) => scrape.job_name), ["prometheus", "istiod", "kubernetes-pods"]);
        assert.deepEqual(config.scrape_configs[0].static_configs, [{ targets: ["localhost:9090"] }]);
        assert.deepEqual(config.scrape_configs[1].kubernetes_sd_configs, [{ role: "endpointslice", namespaces: { names: ["mesh-system"] } }]);
    });

    it("keeps istiod's http-monitoring endpoints, revisioned or not, and nothing else", () => {
        const rules = job("istiod").relabel_configs ?? [];
        const endpoint = (service: string, port: string) => ({ __meta_kubernetes_service_name: service, __meta_kubernetes_endpointslice_port_name: port });
        assert.ok(relabel(endpoint("istiod", "http-monitoring"), rules));
        assert.ok(relabel(endpoint("istiod-1-30-5", "http-monitoring"), rules));
        assert.equal(relabel(endpoint("istiod", "grpc-xds"), rules), undefined);
        assert.equal(relabel(endpoint("kiali", "http-monitoring"), rules), undefined);
    });

    it("scrapes an envoy-mode pod at its annotated stats port and path", () => {
        const target = relabel(
            podTarget("10.0.0.7", { "prometheus.io/scrape": "true", "prometheus.io/port": "15090", "prometheus.io/path": "/stats/prometheus" }),
            job("kubernetes-pods").relabel_configs ?? [],
        );
        assert.ok(target);
        assert.equal(target.__address__, "10.0.0.7:15090");
        assert.equal(target.__metrics_path__, "/stats/prometheus");
        assert.equal(target.__scheme__, "http");
        assert.equal(target.namespace, "shop");
        assert.equal(target.pod, "orders-7d9f");
        assert.equal(target.app, "orders");
    });

    it("scrapes an Istio sidecar at the agent's merged endpoint, also on IPv6", () => {
        const target = relabel(
            podTarget("fd00:10::7", { "prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus" }),
            job("kubernetes-pods").relabel_configs ?? [],
        );
        assert.ok(target);
        assert.equal(target.__address__, "[fd00:10::7]:15020");
        assert.equal(target.__metrics_path__, "/stats/prometheus");
    });

    it("skips pods without the scrape annotation and finished pods", () => {
        const rules = job("kubernetes-pods").relabel_configs ?? [];
        assert.equal(relabel(podTarget("10.0.0.8", {}), rules), undefined);
        assert.equal(relabel(podTarget("10.0.0.8", { "prometheus.io/scrape": "false" }), rules), undefined);
        assert.equal(relabel(podTarget("10.0.0.8", { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" }, "Succeeded"), rules), undefined);
    });

    it("passes `promtool check config` (Prometheus's own checker, built by tools/tools.sh)", function () {
        const promtool = process.env.PROMTOOL ?? "promtool";
        try {
            execFileSync(promtool, ["--version"], { stdio: "ignore" });
        } catch {
            // CI always has it (.ci/run builds it); a laptop without it skips with the reason below.
            if (process.env.CI) throw new Error(`promtool not found at ${promtool}; run tools/tools.sh promtool and set PROMTOOL`);
            console.log("      (skipped: no promtool; `bash tools/tools.sh promtool` builds it, then set PROMTOOL)");
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prometheus-"));
        const file = path.join(dir, "prometheus.yml");
        fs.writeFileSync(file, stringify(prom.prometheusConfig({ istioNamespace: "istio-system", scrapeInterval: "15s", scrapeTimeout: "10s" })));
        execFileSync(promtool, ["check", "config", file], { stdio: "pipe" });
    });
});

describe("Kiali configuration", () => {
    before(() => {
        kiali = require("../components/observability/kialiConfig") as KialiConfigModule;
    });

    it("offers token and anonymous auth", () => {
        assert.deepEqual(kiali.KIALI_AUTH_STRATEGIES, ["token", "anonymous"]);
    });

    it("accepts only 16, 24 or 32-byte signing keys", () => {
        assert.equal(kiali.checkSigningKey("0123456789abcdef"), undefined);
        assert.equal(kiali.checkSigningKey("0123456789abcdef01234567"), undefined);
        assert.equal(kiali.checkSigningKey("0123456789abcdef0123456789abcdef"), undefined);
        assert.equal(
            kiali.checkSigningKey("kiali"),
            "is set (the value is not shown), but Kiali accepts only a signing key of exactly 16, 24 or 32 bytes; e.g. `openssl rand -hex 16` gives 32",
        );
    });
});

describe("Observability", () => {
    before(async () => {
        mocks = await openMockStack({ stateHook: clusterState });
        obs = require("../components/observability/observability") as ObservabilityModule;
        kiali = require("../components/observability/kialiConfig") as KialiConfigModule;
        prom = require("../components/observability/prometheusConfig") as PrometheusConfigModule;
    });

    describe("with defaults", () => {
        let component: InstanceType<ObservabilityModule["Observability"]>;
        before(async () => {
            component = new obs.Observability("obs");
            await mocks.settle();
        });

        it("registers Prometheus, Kiali and the Kiali login, all parented to the component", () => {
            assert.deepEqual(
                mocks.named("obs").map((resource) => `${resource.type}::${resource.name}`).sort(),
                [
                    `${COMPONENT}::obs`,
                    `${T.serviceAccount}::obs-prometheus`,
                    `${T.clusterRole}::obs-prometheus`,
                    `${T.configMap}::obs-prometheus`,
                    `${T.secret}::obs-kiali-signing-key`,
                    `${T.serviceAccount}::obs-kiali`,
                    `${T.clusterRole}::obs-kiali`,
                    `${T.configMap}::obs-kiali`,
                    `${T.deployment}::obs-prometheus`,
                    `${T.service}::obs-prometheus`,
                    `${T.service}::obs-kiali`,
                    `${T.serviceAccount}::obs-kiali-login`,
                    `${T.clusterRole}::obs-kiali-viewer`,
                    `${T.clusterRoleBinding}::obs-prometheus`,
                    `${T.clusterRoleBinding}::obs-kiali`,
                    `${T.deployment}::obs-kiali`,
                    `${T.clusterRoleBinding}::obs-kiali-login`,
                    `${T.secret}::obs-kiali-login-token`,
                    `${T.networkPolicy}::obs-prometheus`,
                    `${T.networkPolicy}::obs-kiali`,
                ].sort(),
            );
            const componentUrn = mocks.find(COMPONENT, "obs").urn;
            for (const resource of mocks.childrenNamed("obs")) {
                assert.equal(resource.parent, componentUrn, resource.name);
            }
        });

        it("emits only objects that pass the upstream Kubernetes schemas", async () => {
            const objects = mocks.childrenNamed("obs");
            assert.equal(objects.length, 19);
            for (const resource of objects) {
                await validateManifest(resource.inputs as Manifest);
            }
        });

        it("exports the in-cluster URLs, the namespace and the login token as a secret", async () => {
            assert.equal(component.namespace, "istio-system");
            assert.equal(component.prometheusUrl, "http://prometheus.istio-system.svc.cluster.local:9090");
            assert.equal(await valueOf(component.kialiUrl), "http://kiali.istio-system.svc.cluster.local:20001/kiali");
            assert.ok(component.kialiToken);
            assert.equal(await pulumi.isSecret(component.kialiToken), true);
            assert.equal(await valueOf(component.kialiToken), LOGIN_TOKEN);
        });

        it("configures Prometheus from the pure config and rolls it when that changes", () => {
            const configMap = mocks.find(T.configMap, "obs-prometheus");
            assert.deepEqual(
                parse(configMap.inputs.data["prometheus.yml"]),
                prom.prometheusConfig({ istioNamespace: "istio-system", scrapeInterval: "15s", scrapeTimeout: "10s" }),
            );
            const deployment = mocks.find(T.deployment, "obs-prometheus").inputs;
            assert.equal(deployment.spec.template.spec.containers[0].image, "docker.io/prom/prometheus:v3.10.0");
            assert.match(deployment.spec.template.metadata.annotations["pluggable-mesh/config-hash"], /^[0-9a-f]{8}$/);
            assert.equal(deployment.spec.template.metadata.labels["sidecar.istio.io/inject"], "false");
            assert.deepEqual(deployment.spec.template.spec.volumes[0], { name: "config", configMap: { name: "prometheus" } });
        });

        it("wires Kiali to Prometheus, its namespace and token auth", () => {
            const config = parse(mocks.find(T.configMap, "obs-kiali").inputs.data["config.yaml"]);
            assert.deepEqual(config, {
                auth: { strategy: "token" },
                deployment: { namespace: "istio-system", instance_name: "kiali", cluster_wide_access: true, view_only_mode: true },
                external_services: {
                    prometheus: { enabled: true, url: "http://prometheus.istio-system.svc.cluster.local:9090" },
                    grafana: { enabled: false },
                    tracing: { enabled: false },
                    custom_dashboards: { enabled: true },
                },
                login_token: { signing_key: "secret:kiali-signing-key:signing-key" },
                server: { port: 20001, web_root: "/kiali", observability: { metrics: { enabled: true, port: 9090 } } },
            });
        });

        it("mounts the signing key where Kiali reads credential overrides", () => {
            const spec = mocks.find(T.deployment, "obs-kiali").inputs.spec.template.spec;
            assert.equal(spec.containers[0].image, "quay.io/kiali/kiali:v2.27.0");
            assert.deepEqual(spec.containers[0].volumeMounts, [
                { name: "config", mountPath: "/kiali-configuration", readOnly: true },
                { name: "signing-key", mountPath: "/kiali-override-secrets/login-token-signing-key", readOnly: true },
            ]);
            assert.deepEqual(spec.volumes, [
                { name: "config", configMap: { name: "kiali" } },
                { name: "signing-key", secret: { secretName: "kiali-signing-key" } },
            ]);
        });

        it("generates a 32-byte signing key once and then ignores changes to it", () => {
            const secret = mocks.find(T.secret, "obs-kiali-signing-key");
            assert.match(secret.inputs.stringData["signing-key"], /^[A-Za-z0-9_-]{32}$/);
            assert.deepEqual(secret.ignoreChanges, ["stringData", "data"]);
            assert.deepEqual(secret.secretInputs, ["stringData"]);
        });

        it("gives the login ServiceAccount a token Secret, created after it, and a read-only role", () => {
            const account = mocks.find(T.serviceAccount, "obs-kiali-login");
            const token = mocks.find(T.secret, "obs-kiali-login-token");
            assert.deepEqual(token.inputs, {
                apiVersion: "v1",
                kind: "Secret",
                metadata: {
                    name: "kiali-login-token",
                    namespace: "istio-system",
                    labels: { app: "kiali", "app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali", "app.kubernetes.io/part-of": "pluggable-mesh" },
                    annotations: { "kubernetes.io/service-account.name": "kiali-login" },
                },
                type: "kubernetes.io/service-account-token",
            });
            assert.ok(token.dependencies.includes(account.urn));
            const viewer = mocks.find(T.clusterRole, "obs-kiali-viewer").inputs;
            const verbs = new Set(viewer.rules.flatMap((rule: { verbs: string[] }) => rule.verbs));
            assert.deepEqual([...verbs], ["get", "list", "watch"]);
            const binding = mocks.find(T.clusterRoleBinding, "obs-kiali-login").inputs;
            assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "istio-system-kiali-viewer" });
            assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "kiali-login", namespace: "istio-system" }]);
        });

        it("exposes Kiali as a ClusterIP Service", () => {
            assert.equal(mocks.find(T.service, "obs-kiali").inputs.spec.type, "ClusterIP");
        });
    });

    it("stores a given signing key as is and lets it change", async () => {
        new obs.Observability("keyed", { signingKey: pulumi.secret("0123456789abcdef0123456789abcdef") });
        await mocks.settle();
        const secret = mocks.find(T.secret, "keyed-kiali-signing-key");
        assert.deepEqual(secret.inputs.stringData, { "signing-key": "0123456789abcdef0123456789abcdef" });
        assert.deepEqual(secret.ignoreChanges, []);
        assert.deepEqual(secret.secretInputs, ["stringData"]);
    });

    it("has no login objects and no token with anonymous auth", async () => {
        const component = new obs.Observability("anon", { auth: "anonymous" });
        await mocks.settle();
        const names = mocks.named("anon").map((resource) => resource.name);
        assert.equal(names.filter((name) => name.includes("login") || name.includes("viewer")).length, 0);
        assert.equal(component.kialiToken, undefined);
        assert.equal(parse(mocks.find(T.configMap, "anon-kiali").inputs.data["config.yaml"]).auth.strategy, "anonymous");
    });

    it("reports the node port for a NodePort Service", async () => {
        const component = new obs.Observability("nodeport", { exposure: "NodePort", namespace: "observability", createNamespace: true });
        await mocks.settle();
        assert.equal(mocks.find(T.service, "nodeport-kiali").inputs.spec.type, "NodePort");
        assert.equal(await valueOf(component.kialiUrl), "http://<node-address>:31234/kiali");
        const namespace = mocks.find(T.namespace, "nodeport-namespace");
        assert.deepEqual(namespace.inputs.metadata, { name: "observability" });
        const namespaced = mocks.childrenNamed("nodeport").filter((child) => !child.type.includes("ClusterRole") && child !== namespace);
        assert.equal(namespaced.length, 13);
        for (const resource of namespaced) {
            assert.ok(resource.dependencies.includes(namespace.urn), `${resource.name} waits for the namespace`);
        }
        assert.equal(component.prometheusUrl, "http://prometheus.observability.svc.cluster.local:9090");
    });

    it("reports the load balancer's address for a LoadBalancer Service", async () => {
        const component = new obs.Observability("lb", { exposure: "LoadBalancer" });
        await mocks.settle();
        assert.equal(mocks.find(T.service, "lb-kiali").inputs.spec.type, "LoadBalancer");
        assert.equal(await valueOf(component.kialiUrl), "http://203.0.113.10:20001/kiali");
    });

    describe("exposed through the Istio ingress gateway", () => {
        let component: InstanceType<ObservabilityModule["Observability"]>;
        let istiod: pulumi.CustomResource;
        before(async () => {
            class FakeIstiod extends pulumi.CustomResource {
                constructor(name: string) {
                    super("test:index:Istiod", name, {});
                }
            }
            istiod = new FakeIstiod("gw-istiod");
            component = new obs.Observability("gw", {
                exposure: { gatewayHost: "kiali.example.com" },
                ingressGatewaySelector: { app: "istio-ingressgateway", istio: "ingressgateway" },
                istioReady: istiod,
            });
            await mocks.settle();
        });

        it("binds a Gateway to the ingress gateway's pods for the host", () => {
            const gateway = mocks.find(T.gateway, "gw-kiali-gateway");
            assert.deepEqual(gateway.inputs.spec, {
                selector: { app: "istio-ingressgateway", istio: "ingressgateway" },
                servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["kiali.example.com"] }],
            });
        });

        it("routes the host to Kiali's Service, redirecting / to the web root", () => {
            const virtualService = mocks.find(T.virtualService, "gw-kiali-virtualservice");
            assert.deepEqual(virtualService.inputs.spec, {
                hosts: ["kiali.example.com"],
                gateways: ["kiali"],
                http: [
                    { name: "root", match: [{ uri: { exact: "/" } }], redirect: { uri: "/kiali/" } },
                    {
                        name: "kiali",
                        match: [{ uri: { prefix: "/kiali" } }],
                        route: [{ destination: { host: "kiali.istio-system.svc.cluster.local", port: { number: 20001 } } }],
                    },
                ],
            });
        });

        it("creates the Istio objects only after istiod is ready", async () => {
            const istiodUrn = mocks.urnOf(istiod);
            assert.deepEqual(mocks.find(T.gateway, "gw-kiali-gateway").dependencies, [istiodUrn]);
            // The VirtualService names the Gateway through its output, so it also waits for it.
            assert.ok(mocks.find(T.virtualService, "gw-kiali-virtualservice").dependencies.includes(istiodUrn));
        });

        it("emits Istio objects that pass Istio's CRD schemas", async () => {
            await validateManifest(mocks.find(T.gateway, "gw-kiali-gateway").inputs as Manifest);
            await validateManifest(mocks.find(T.virtualService, "gw-kiali-virtualservice").inputs as Manifest);
        });

        it("keeps Kiali's Service internal and reports the gateway URL", async () => {
            assert.equal(mocks.find(T.service, "gw-kiali").inputs.spec.type, "ClusterIP");
            assert.equal(await valueOf(component.kialiUrl), "http://kiali.example.com/kiali");
        });
    });

    it("refuses bad arguments with every problem listed, before registering anything", async () => {
        await mocks.settle();
        const before = mocks.resources.length;
        assert.throws(
            () =>
                new obs.Observability("bad", {
                    namespace: "Observability",
                    auth: "openid" as never,
                    exposure: { gatewayHost: "Kiali.Example.com" },
                    scrapeInterval: "15 seconds",
                }),
            {
                message: [
                    "invalid configuration (4 problems):",
                    `bad.namespace: "Observability" is not a namespace name; use a DNS-1123 label (lowercase letters, digits, '-', at most 63 characters)`,
                    `bad.auth: "openid" is not a Kiali auth strategy; use one of token, anonymous`,
                    `bad.exposure.gatewayHost: "Kiali.Example.com" is not a host name; use a lowercase DNS name such as "kiali.example.com"`,
                    `bad.scrapeInterval: "15 seconds" is not a Prometheus duration; use e.g. "15s", "1m" or "15d"`,
                ].join("\n"),
            },
        );
        assert.throws(() => new obs.Observability("bad-exposure", { exposure: "Ingress" as never }), {
            message: `invalid configuration (1 problem):\nbad-exposure.exposure: "Ingress" is not an exposure; use one of ClusterIP, NodePort, LoadBalancer or { gatewayHost: "<host>" }`,
        });
        // Registrations reach the mock engine asynchronously: wait for any before counting.
        await mocks.settle();
        assert.equal(mocks.resources.length, before);
    });
});
