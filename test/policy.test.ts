/**
 * The policy pack's rules, by plain calls: a passing and a failing resource for each, exact
 * messages, and the CrossGuard wrappers (config defaults, reportViolation with the URN). The real
 * engine runs the pack in test/integration/policy.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import {
    imagePinned,
    istioControlPlane,
    loadBalancerNeedsExposure,
    noPlaintextSecretEnv,
    productionMtls,
    productionNoAllowAll,
    productionNoMtlsDisable,
    RESOURCE_RULES,
    STACK_RULES,
    unpinnedBecause,
    withDefaults,
    workloadResources,
    workloadSecurityProfile,
} from "../policy/rules";
import type { KubeResource as KubeResourceLike } from "../policy/kubernetes";
import type { ResourceRule, StackRule } from "../policy/rules";

/**
 * The CrossGuard wrappers, loaded at run time with the few fields used here: their types live in
 * the pack's own node_modules (`npm ci --prefix policy`), which the root type-check must not need.
 */
type ReportViolation = (message: string, urn?: string) => void;
interface PolicyLike {
    name: string;
    description: string;
    remediationSteps?: string;
    configSchema?: unknown;
}
type ResourceValidationArgs = { type: string; props: Record<string, unknown>; urn: string; getConfig(): object };
type StackValidationArgs = { resources: KubeResourceLike[]; getConfig(): object };
const { POLICIES, resourcePolicy, stackPolicy } = require("../policy/policies") as {
    POLICIES: PolicyLike[];
    resourcePolicy(rule: ResourceRule<any>): PolicyLike & { validateResource: (args: ResourceValidationArgs, report: ReportViolation) => void };
    stackPolicy(rule: StackRule<any>): PolicyLike & { validateStack: (args: StackValidationArgs, report: ReportViolation) => void };
};

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

/** A restricted, resourced, pinned container: the passing baseline every case changes one thing of. */
function goodContainer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name: "app",
        image: "docker.io/library/nginx:1.27.3",
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        env: [{ name: "LOG_LEVEL", value: "info" }],
        ...overrides,
    };
}

function deployment(options: { containers?: Record<string, unknown>[]; pod?: Record<string, unknown>; podLabels?: Record<string, string>; podAnnotations?: Record<string, string>; annotations?: Record<string, string>; namespace?: string } = {}): KubeResourceLike {
    return {
        type: DEPLOYMENT,
        urn: `urn:pulumi:test::p::kubernetes:apps/v1:Deployment::web`,
        props: {
            metadata: { name: "web", namespace: options.namespace ?? "shop", ...(options.annotations ? { annotations: options.annotations } : {}) },
            spec: {
                selector: { matchLabels: { app: "web" } },
                template: {
                    metadata: { labels: { app: "web", ...options.podLabels }, ...(options.podAnnotations ? { annotations: options.podAnnotations } : {}) },
                    spec: { securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, containers: options.containers ?? [goodContainer()], ...options.pod },
                },
            },
        },
    };
}

function custom(type: string, name: string, namespace: string, spec: Record<string, unknown>, annotations?: Record<string, string>): KubeResourceLike {
    return { type, urn: `urn:pulumi:test::p::${type}::${name}`, props: { metadata: { name, namespace, ...(annotations ? { annotations } : {}) }, spec } };
}

function namespace(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): KubeResourceLike {
    return { type: "kubernetes:core/v1:Namespace", urn: `urn:pulumi:test::p::kubernetes:core/v1:Namespace::${name}`, props: { metadata: { name, labels, annotations } } };
}

const PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication";
const AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy";
const SERVICE = "kubernetes:core/v1:Service";

describe("policy pack rules", function () {
    it("the pack has every rule once, each with a description and a remediation", function () {
        const names = [...RESOURCE_RULES, ...STACK_RULES].map((rule) => rule.name);
        assert.deepEqual(names, [
            "workload-resources",
            "workload-security-profile",
            "image-pinned",
            "no-plaintext-secret-env",
            "loadbalancer-needs-exposure",
            "production-no-mtls-disable",
            "production-no-allow-all",
            "production-mtls",
            "istio-control-plane",
        ]);
        assert.deepEqual(POLICIES.map((policy) => policy.name), names);
        for (const policy of POLICIES) {
            assert.ok(policy.description.length > 20 && (policy.remediationSteps ?? "").length > 40, policy.name);
        }
    });

    describe("workload-resources", function () {
        it("passes a container with cpu and memory requests and a memory limit", function () {
            assert.deepEqual(workloadResources.checkResource(deployment(), {}), []);
        });
        it("names each container and each missing field, init containers included", function () {
            const sidecar = goodContainer({ name: "proxy", resources: { requests: { cpu: "10m" } } });
            const app = goodContainer({ resources: undefined });
            assert.deepEqual(workloadResources.checkResource(deployment({ containers: [app], pod: { initContainers: [sidecar] } }), {}), [
                'Deployment shop/web: init container "proxy" has no resources.requests.memory, resources.limits.memory; set requests for cpu and memory and a memory limit',
                'Deployment shop/web: container "app" has no resources.requests.cpu, resources.requests.memory, resources.limits.memory; set requests for cpu and memory and a memory limit',
            ]);
        });
        it("ignores objects that are not workloads", function () {
            assert.deepEqual(workloadResources.checkResource(custom(SERVICE, "web", "shop", { type: "ClusterIP" }), {}), []);
        });
    });

    describe("workload-security-profile", function () {
        const tail = "; meet the restricted Pod Security Standard or annotate the workload with pluggable-mesh.io/security-exemption: <why>";
        it("passes a pod under the restricted profile", function () {
            assert.deepEqual(workloadSecurityProfile.checkResource(deployment(), {}), []);
        });
        it("lists every gap of a root container and of the pod", function () {
            const root = goodContainer({ securityContext: { runAsUser: 0, capabilities: { add: ["NET_ADMIN", "NET_BIND_SERVICE"] } }, ports: [{ containerPort: 80, hostPort: 80 }] });
            const resource = deployment({ containers: [root], pod: { securityContext: {}, hostNetwork: true, volumes: [{ name: "host", hostPath: { path: "/" } }, { name: "tmp", emptyDir: {} }] } });
            assert.deepEqual(workloadSecurityProfile.checkResource(resource, {}), [
                `Deployment shop/web: the pod hostNetwork is true; volume "host" is of type hostPath${tail}`,
                `Deployment shop/web: container "app": securityContext.allowPrivilegeEscalation is not false; runAsNonRoot is not true; runAsUser is 0 (root); seccompProfile.type is not RuntimeDefault or Localhost; capabilities.drop does not include "ALL"; adds capabilities NET_ADMIN; uses a hostPort${tail}`,
            ]);
        });
        it("accepts an exemption with a reason, on the workload or its pod template, and not an empty one", function () {
            const root = goodContainer({ securityContext: {} });
            const reason = { "pluggable-mesh.io/security-exemption": "the image starts as root and drops to its own user" };
            assert.deepEqual(workloadSecurityProfile.checkResource(deployment({ containers: [root], annotations: reason }), {}), []);
            assert.deepEqual(workloadSecurityProfile.checkResource(deployment({ containers: [root], podAnnotations: reason }), {}), []);
            assert.equal(workloadSecurityProfile.checkResource(deployment({ containers: [root], annotations: { "pluggable-mesh.io/security-exemption": "  " } }), {}).length, 1);
        });
    });

    describe("image-pinned", function () {
        it("accepts a tag other than latest and a digest, refuses none and latest", function () {
            assert.equal(unpinnedBecause("nginx:1.27.3"), undefined);
            assert.equal(unpinnedBecause("registry.local:5000/team/app:v2"), undefined);
            assert.equal(unpinnedBecause(`nginx@sha256:${"a".repeat(64)}`), undefined);
            assert.equal(unpinnedBecause("registry.local:5000/team/app"), "has no tag (it means latest)");
            assert.equal(unpinnedBecause("nginx:latest"), "is tagged latest");
        });
        it("passes pinned containers and names an unpinned one", function () {
            assert.deepEqual(imagePinned.checkResource(deployment(), {}), []);
            assert.deepEqual(imagePinned.checkResource(deployment({ containers: [goodContainer({ image: "nginx" })] }), {}), [
                'Deployment shop/web: container "app" image "nginx" has no tag (it means latest); pin a tag other than latest or a digest',
            ]);
        });
        it("leaves Istio's injected-gateway placeholder image alone, only with injection on", function () {
            assert.deepEqual(imagePinned.checkResource(deployment({ containers: [goodContainer({ image: "auto" })], podLabels: { "sidecar.istio.io/inject": "true" } }), {}), []);
            assert.equal(imagePinned.checkResource(deployment({ containers: [goodContainer({ image: "auto" })] }), {}).length, 1);
        });
    });

    describe("no-plaintext-secret-env", function () {
        const config = withDefaults(noPlaintextSecretEnv);
        it("passes secrets from a Secret, *_FILE paths, switches and names that hold no secret", function () {
            const env = [
                { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
                { name: "MYSQL_ROOT_PASSWORD_FILE", value: "/run/secrets/root" },
                { name: "MYSQL_ALLOW_EMPTY_PASSWORD", value: "yes" },
                { name: "API_TOKEN", value: "" },
                { name: "LOG_LEVEL", value: "debug" },
            ];
            assert.deepEqual(noPlaintextSecretEnv.checkResource(deployment({ containers: [goodContainer({ env })] }), config), []);
        });
        it("names the variable, never its value", function () {
            const env = [
                { name: "DB_PASSWORD", value: "hunter2-very-secret" },
                { name: "stripe_api_key", value: "sk_live_abc" },
                { name: "CACHE_KEY_PREFIX", value: "shop:" },
            ];
            const messages = noPlaintextSecretEnv.checkResource(deployment({ containers: [goodContainer({ env })] }), { allowedNames: ["CACHE_KEY_PREFIX"] });
            assert.deepEqual(messages, [
                'Deployment shop/web: container "app" sets DB_PASSWORD to a plain-text value; take it from a Secret with valueFrom.secretKeyRef',
                'Deployment shop/web: container "app" sets stripe_api_key to a plain-text value; take it from a Secret with valueFrom.secretKeyRef',
            ]);
            assert.doesNotMatch(messages.join("\n"), /hunter2|sk_live/);
            assert.equal(noPlaintextSecretEnv.checkResource(deployment({ containers: [goodContainer({ env })] }), config).length, 3, "without the allow list, the prefix is flagged too");
        });
    });

    describe("loadbalancer-needs-exposure", function () {
        const config = withDefaults(loadBalancerNeedsExposure);
        it("passes ClusterIP, an annotated LoadBalancer and an allowed one", function () {
            assert.deepEqual(loadBalancerNeedsExposure.checkResource(custom(SERVICE, "web", "shop", { type: "ClusterIP" }), config), []);
            assert.deepEqual(loadBalancerNeedsExposure.checkResource(custom(SERVICE, "gw", "edge", { type: "LoadBalancer" }, { "pluggable-mesh.io/exposure": "pluggable-mesh:istio.gateway" }), config), []);
            assert.deepEqual(loadBalancerNeedsExposure.checkResource(custom(SERVICE, "gw", "edge", { type: "LoadBalancer" }), { allowedServices: ["edge/gw"] }), []);
        });
        it("refuses a LoadBalancer nothing asked for", function () {
            assert.deepEqual(loadBalancerNeedsExposure.checkResource(custom(SERVICE, "db", "shop", { type: "LoadBalancer" }), config), [
                "Service shop/db is of type LoadBalancer but nothing asked for its exposure; use ClusterIP, or annotate it with pluggable-mesh.io/exposure naming the setting that asked for it",
            ]);
        });
    });

    describe("production-no-mtls-disable", function () {
        it("passes STRICT and refuses DISABLE for the workload and per port", function () {
            assert.deepEqual(productionNoMtlsDisable.checkResource(custom(PEER_AUTHENTICATION, "shop", "shop", { mtls: { mode: "STRICT" } }), {}), []);
            assert.deepEqual(productionNoMtlsDisable.checkResource(custom("kubernetes:security.istio.io/v1beta1:PeerAuthentication", "shop", "shop", { mtls: { mode: "DISABLE" }, portLevelMtls: { "8080": { mode: "DISABLE" } } }), {}), [
                "PeerAuthentication shop/shop sets mtls.mode DISABLE: traffic to its workloads is plaintext; use STRICT",
                "PeerAuthentication shop/shop sets portLevelMtls DISABLE on port(s) 8080: that traffic is plaintext; use STRICT",
            ]);
        });
    });

    describe("production-no-allow-all", function () {
        it("passes a rule naming callers and a DENY with an empty rule; refuses an ALLOW with an empty rule", function () {
            assert.deepEqual(productionNoAllowAll.checkResource(custom(AUTHORIZATION_POLICY, "web", "shop", { action: "ALLOW", rules: [{ from: [{ source: { principals: ["cluster.local/ns/shop/sa/api"] } }] }] }), {}), []);
            assert.deepEqual(productionNoAllowAll.checkResource(custom(AUTHORIZATION_POLICY, "web", "shop", { action: "DENY", rules: [{}] }), {}), []);
            assert.deepEqual(productionNoAllowAll.checkResource(custom(AUTHORIZATION_POLICY, "allow-all", "shop", { rules: [{}] }), {}), [
                "AuthorizationPolicy shop/allow-all is an ALLOW policy with a rule that matches every request (allow-all); name the callers in from.source and the ports in to.operation",
            ]);
        });
    });

    describe("production-mtls (stack)", function () {
        const config = withDefaults(productionMtls);
        const strict = custom(PEER_AUTHENTICATION, "shop", "shop", { mtls: { mode: "STRICT" } });
        it("passes injected workloads under a STRICT PeerAuthentication, and platform namespaces", function () {
            const resources = [namespace("shop", { "istio-injection": "enabled" }), strict, deployment(), deployment({ namespace: "istio-system", podLabels: {} })];
            assert.deepEqual(productionMtls.checkStack(resources, config), []);
        });
        it("refuses a workload in no mesh and one in Istio with plaintext allowed, naming the PeerAuthentication", function () {
            const permissive = custom(PEER_AUTHENTICATION, "web", "shop", { selector: { matchLabels: { app: "web" } }, mtls: { mode: "PERMISSIVE" } });
            const meshed = deployment({ podLabels: { "sidecar.istio.io/inject": "true" } });
            assert.deepEqual(
                productionMtls.checkStack([strict, permissive, meshed, deployment({ namespace: "plain" })], config).map((violation) => violation.message),
                [
                    "Deployment shop/web accepts plaintext: PeerAuthentication shop/web sets mtls.mode PERMISSIVE; use STRICT, or name the callers outside the mesh in pluggable-mesh.io/permissive-reason",
                    "Deployment plain/web is in no mesh with mTLS (no Istio or Linkerd injection on it or its namespace); production runs every app with mTLS: use mode istio or linkerd",
                ],
            );
            const explained = custom(PEER_AUTHENTICATION, "web", "shop", { selector: { matchLabels: { app: "web" } }, mtls: { mode: "PERMISSIVE" } }, { "pluggable-mesh.io/permissive-reason": "the batch jobs in ns legacy call it" });
            assert.deepEqual(productionMtls.checkStack([explained, meshed], config), []);
        });
        it("refuses STRICT with ports opened to plaintext (portLevelMtls PERMISSIVE) unless the callers are named", function () {
            const meshed = deployment({ podLabels: { "sidecar.istio.io/inject": "true" } });
            const spec = { selector: { matchLabels: { app: "web" } }, mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "PERMISSIVE" }, "9090": { mode: "STRICT" } } };
            assert.deepEqual(productionMtls.checkStack([custom(PEER_AUTHENTICATION, "web", "shop", spec), meshed], config).map((violation) => violation.message), [
                "Deployment shop/web accepts plaintext on port(s) 8080: PeerAuthentication shop/web sets portLevelMtls PERMISSIVE there; name the callers outside the mesh in pluggable-mesh.io/permissive-reason, or remove it",
            ]);
            const explained = custom(PEER_AUTHENTICATION, "web", "shop", spec, { "pluggable-mesh.io/permissive-reason": "callers outside the Istio mesh: billing/worker (mode native) on port 8080 (http)" });
            assert.deepEqual(productionMtls.checkStack([explained, meshed], config), []);
        });
        it("asks for a PeerAuthentication when none decides, unless the mesh is declared STRICT; Linkerd needs all-authenticated", function () {
            const meshed = deployment({ podLabels: { "sidecar.istio.io/inject": "true" } });
            assert.deepEqual(productionMtls.checkStack([meshed], config).map((violation) => violation.message), [
                "Deployment shop/web accepts plaintext: no PeerAuthentication in this stack sets its mtls.mode (Istio's default is PERMISSIVE); add one with mtls.mode STRICT",
            ]);
            assert.deepEqual(productionMtls.checkStack([meshed], { ...config, meshWideStrict: true }), []);
            const linkerd = deployment({ podAnnotations: { "linkerd.io/inject": "enabled" } });
            assert.equal(
                productionMtls.checkStack([linkerd], config)[0]!.message,
                "Deployment shop/web is in Linkerd but accepts plaintext (default-inbound-policy all-unauthenticated); set config.linkerd.io/default-inbound-policy: all-authenticated (or deny)",
            );
            // What a production stack's linkerd mode writes (deny), and Linkerd's other policies that refuse plaintext.
            for (const policy of ["all-authenticated", "cluster-authenticated", "deny"]) {
                assert.deepEqual(productionMtls.checkStack([namespace("shop", {}, { "config.linkerd.io/default-inbound-policy": policy }), linkerd], config), [], policy);
            }
            for (const policy of ["cluster-unauthenticated", "audit"]) {
                assert.equal(productionMtls.checkStack([namespace("shop", {}, { "config.linkerd.io/default-inbound-policy": policy }), linkerd], config).length, 1, policy);
            }
        });
    });

    describe("istio-control-plane (stack)", function () {
        const config = withDefaults(istioControlPlane);
        const meshed = deployment({ podLabels: { "istio.io/dataplane-mode": "ambient" } });
        it("passes with istiod in the stack (its Deployment or its chart) or declared existing", function () {
            const istiod = { ...deployment({ namespace: "istio-system", podLabels: { app: "istiod" } }) };
            assert.deepEqual(istioControlPlane.checkStack([meshed, istiod], config), []);
            const chart = { type: "kubernetes:helm.sh/v4:Chart", urn: "urn:chart", props: { chart: "/charts/istio-control/istio-discovery" } };
            assert.deepEqual(istioControlPlane.checkStack([meshed, chart], config), []);
            assert.deepEqual(istioControlPlane.checkStack([meshed], { ...config, existingControlPlane: true }), []);
            assert.deepEqual(istioControlPlane.checkStack([deployment()], config), [], "a workload outside Istio needs none");
        });
        it("names every Istio workload when there is no control plane", function () {
            assert.deepEqual(istioControlPlane.checkStack([namespace("shop", { "istio.io/rev": "1-24" }), deployment()], config), [
                {
                    urn: "urn:pulumi:test::p::kubernetes:apps/v1:Deployment::web",
                    message: "Deployment shop/web runs in Istio, but the stack has no Istio control plane; install istiod in the stack or declare an existing one (existingControlPlane: true)",
                },
            ]);
        });
    });

    describe("as CrossGuard policies", function () {
        it("a resource policy applies its schema's defaults under the stack's config and reports each message", function () {
            const reported: string[] = [];
            const report: ReportViolation = (message) => void reported.push(message);
            const args = (config: object): ResourceValidationArgs => ({ ...deployment({ containers: [goodContainer({ env: [{ name: "CACHE_KEY_PREFIX", value: "shop:" }] })] }), urn: "urn:web", getConfig: () => config });
            const policy = resourcePolicy(noPlaintextSecretEnv);
            assert.deepEqual(policy.configSchema, { properties: { allowedNames: { type: "array", items: { type: "string" }, default: [] } } });
            policy.validateResource(args({}), report);
            policy.validateResource(args({ allowedNames: ["CACHE_KEY_PREFIX"] }), report);
            assert.deepEqual(reported, ['Deployment shop/web: container "app" sets CACHE_KEY_PREFIX to a plain-text value; take it from a Secret with valueFrom.secretKeyRef']);
        });
        it("a stack policy reports each violation against its resource's URN", function () {
            const reported: [string, string | undefined][] = [];
            const policy = stackPolicy(istioControlPlane);
            const resources = [namespace("shop", { "istio-injection": "enabled" }), deployment()];
            policy.validateStack({ resources, getConfig: () => ({}) }, (message, urn) => void reported.push([message, urn]));
            assert.deepEqual(reported.map(([, urn]) => urn), ["urn:pulumi:test::p::kubernetes:apps/v1:Deployment::web"]);
        });
    });

    describe("per-stack policy config (policy/config/<stack>.json)", function () {
        const root = path.resolve(__dirname, "..");
        const stacks = fs.readdirSync(root).flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? []);
        const PRODUCTION_RULES = ["production-mtls", "production-no-mtls-disable", "production-no-allow-all"];
        const levelOf = (setting: unknown) => (typeof setting === "string" ? setting : (setting as { enforcementLevel?: string } | undefined)?.enforcementLevel);

        it("every shipped stack has one, naming only rules of the pack", function () {
            assert.deepEqual(stacks.sort(), ["dev", "fleet", "fleet-bookinfo", "fleet-ruoyi", "prod", "staging"]);
            const names = new Set(POLICIES.map((policy) => policy.name));
            for (const stack of stacks) {
                const config = JSON.parse(fs.readFileSync(path.join(root, "policy", "config", `${stack}.json`), "utf8")) as Record<string, unknown>;
                assert.deepEqual(Object.keys(config).filter((name) => name !== "all" && !names.has(name)), [], stack);
            }
        });
        it("the production rules are mandatory exactly where the stack says pluggable-mesh:production: true (an app stack: its platform stack)", function () {
            const configOf = (stack: string) => (parseYaml(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> }).config ?? {};
            for (const stack of stacks) {
                const platformStack = configOf(stack)["pluggable-mesh:platformStack"];
                const production = configOf(typeof platformStack === "string" ? platformStack : stack)["pluggable-mesh:production"] === true;
                const config = JSON.parse(fs.readFileSync(path.join(root, "policy", "config", `${stack}.json`), "utf8")) as Record<string, unknown>;
                for (const rule of PRODUCTION_RULES) assert.equal(levelOf(config[rule]) === "mandatory", production, `${stack}: ${rule}`);
            }
        });
    });
});
