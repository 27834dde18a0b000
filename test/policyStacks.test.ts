/**
 * The shipped stacks against the policy pack, fast: the program runs under the mock engine and
 * every rule sees what it registers, at the enforcement level the stack's policy config chooses.
 * Helm charts stay unrendered here (the mock engine does not run them); the real engine renders
 * their children and runs the pack on everything in test/integration/policy.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT, runWithMocks } from "../mocks/mockEngine";
import { readStackConfig } from "../engine/stackFile";
import { RESOURCE_RULES, STACK_RULES, withDefaults, type EnforcementLevel, type ResourceRule, type StackRule } from "../policy/rules";
import type { KubeResource } from "../policy/kubernetes";
import { SECURITY_EXEMPTION_ANNOTATION } from "../policy/contract";
import { checkApps, renderApp } from "../components/app";
import { PLATFORM_DEFAULTS } from "../components/modes";

type PolicyConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

function policyConfig(stack: string): PolicyConfig {
    return JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "policy", "config", `${stack}.json`), "utf8")) as PolicyConfig;
}

/** What CrossGuard would do with one rule under a policy config: its level and its config. */
function settingOf(rule: ResourceRule<any> | StackRule<any>, config: PolicyConfig): { level: EnforcementLevel; given: Record<string, unknown> } {
    const setting = config[rule.name];
    const all = config.all;
    const fallback = (typeof all === "string" ? all : all?.enforcementLevel) ?? rule.enforcementLevel;
    if (typeof setting === "string") return { level: setting, given: {} };
    const { enforcementLevel, ...given } = setting ?? {};
    return { level: enforcementLevel ?? fallback, given };
}

/** Every violation as `level rule: message`, leaving out disabled rules. */
function evaluatePack(resources: readonly KubeResource[], config: PolicyConfig): string[] {
    const lines: string[] = [];
    for (const rule of RESOURCE_RULES) {
        const { level, given } = settingOf(rule, config);
        if (level === "disabled") continue;
        for (const resource of resources) for (const message of rule.checkResource(resource, withDefaults(rule, given))) lines.push(`${level} ${rule.name}: ${message}`);
    }
    for (const rule of STACK_RULES) {
        const { level, given } = settingOf(rule, config);
        if (level === "disabled") continue;
        for (const violation of rule.checkStack(resources, withDefaults(rule, given))) lines.push(`${level} ${rule.name}: ${violation.message}`);
    }
    return lines;
}

async function registered(stack: string, overrides: Record<string, string> = {}): Promise<KubeResource[]> {
    const { pluggableMesh } = require("../stacks/program") as typeof import("../stacks/program");
    const { offlineStackOutputs } = require("../cli/render") as typeof import("../cli/render");
    const config = { ...readStackConfig(stack), ...overrides };
    // An app stack reads its platform stack, rendered offline first.
    const { resources } = await runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack, config, stackOutputs: await offlineStackOutputs(config, new Set([stack])) });
    return resources.map((resource) => ({ type: resource.type, props: resource.inputs, urn: resource.urn }));
}

/** Bookinfo's Deployments in every shipped stack (stacks/apps/bookinfo.yaml), sorted. */
const BOOKINFO_WORKLOADS = ["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"];

describe("the shipped stacks against the policy pack (mock engine)", function () {
    const notMeshed = (kind: string, name: string, namespace = "ruoyi") =>
        `advisory production-mtls: ${kind} ${namespace}/${name} is in no mesh with mTLS (no Istio or Linkerd injection on it or its namespace); production runs every app with mTLS: use mode istio or linkerd`;

    it("dev passes (the production rules are off)", async function () {
        assert.deepEqual(evaluatePack(await registered("dev"), policyConfig("dev")), []);
    });

    it("staging passes, with the production rules as warnings: envoy mode has no mTLS", async function () {
        assert.deepEqual(evaluatePack(await registered("staging"), policyConfig("staging")).sort(), [
            ...BOOKINFO_WORKLOADS.map((name) => notMeshed("Deployment", name, "bookinfo")),
            notMeshed("Deployment", "redis"),
            notMeshed("Deployment", "ruoyi-admin"),
            notMeshed("Deployment", "ruoyi-ui"),
            notMeshed("StatefulSet", "mysql"),
        ]);
    });

    describe("the example fleet (docs/fleet.md)", function () {
        const permissive = (kind: string, workload: string, namespace: string, component = workload) =>
            `advisory production-mtls: ${kind} ${namespace}/${workload} accepts plaintext: PeerAuthentication ${namespace}/${component} sets mtls.mode PERMISSIVE; use STRICT, or name the callers outside the mesh in pluggable-mesh.io/permissive-reason`;

        it("the platform stack passes", async function () {
            assert.deepEqual(evaluatePack(await registered("fleet"), policyConfig("fleet")), []);
        });

        it("the app stacks pass: their Istio is the platform stack's (existingControlPlane), the production rules are warnings", async function () {
            assert.deepEqual(evaluatePack(await registered("fleet-ruoyi"), policyConfig("fleet-ruoyi")).sort(), [
                permissive("Deployment", "redis", "ruoyi"),
                permissive("Deployment", "ruoyi-admin", "ruoyi"),
                permissive("Deployment", "ruoyi-ui", "ruoyi"),
                permissive("StatefulSet", "mysql", "ruoyi"),
            ]);
            assert.deepEqual(
                evaluatePack(await registered("fleet-bookinfo"), policyConfig("fleet-bookinfo")).sort(),
                BOOKINFO_WORKLOADS.map((name) => permissive("Deployment", name, "bookinfo", name.replace(/-v\d$/, ""))),
            );
        });

        it("an app stack's policy config must declare its platform's control plane (negative control)", async function () {
            const config: PolicyConfig = { ...policyConfig("fleet-ruoyi"), "istio-control-plane": "mandatory" };
            assert.equal(evaluatePack(await registered("fleet-ruoyi"), config).filter((line) => line.startsWith("mandatory istio-control-plane")).length, 4);
        });
    });

    it("prod passes every rule, the production ones mandatory", async function () {
        assert.deepEqual(evaluatePack(await registered("prod"), policyConfig("prod")), []);
    });

    it("prod with Kiali on a LoadBalancer passes: the Service names the setting that asked for it", async function () {
        const observability = JSON.stringify({ enabled: true, kialiAuth: "token", kialiExposure: "LoadBalancer" });
        const resources = await registered("prod", { "pluggable-mesh:observability": observability });
        const kiali = resources.find((resource) => resource.type === "kubernetes:core/v1:Service" && resource.props.spec?.type === "LoadBalancer");
        assert.deepEqual(kiali?.props.metadata.annotations, { "pluggable-mesh.io/exposure": "pluggable-mesh:observability.kialiExposure" });
        assert.deepEqual(evaluatePack(resources, policyConfig("prod")), []);
        delete kiali!.props.metadata.annotations;
        assert.deepEqual(evaluatePack(resources, policyConfig("prod")), [
            "mandatory loadbalancer-needs-exposure: Service istio-system/kiali is of type LoadBalancer but nothing asked for its exposure; use ClusterIP, or annotate it with pluggable-mesh.io/exposure naming the setting that asked for it",
        ]);
    });

    it("prod in envoy mode fails production-mtls as mandatory (negative control)", async function () {
        const lines = evaluatePack(await registered("prod", { "pluggable-mesh:mode": "envoy" }), policyConfig("prod"));
        assert.equal(lines.filter((line) => line.startsWith("mandatory production-mtls: ")).length, 4 + BOOKINFO_WORKLOADS.length, lines.join("\n"));
    });

    it("a component without securityExemption renders under the restricted profile and passes; with one, the reason rides on the workload", function () {
        const spec = { name: "shop", namespace: "shop", components: [{ name: "web", image: "docker.io/library/nginx:1.27.3", ports: [{ name: "http", port: 8080, protocol: "http" }] }] };
        const exempt = { ...spec, components: [{ ...spec.components[0]!, securityExemption: "the image needs root to bind port 80" }] };
        const workloadOf = (appSpec: unknown): KubeResource => {
            const { apps, problems } = checkApps([{ spec: appSpec }], { platform: PLATFORM_DEFAULTS });
            assert.deepEqual(problems, []);
            const deployment = renderApp(apps[0]!, PLATFORM_DEFAULTS).objects.find((object) => object.manifest.kind === "Deployment")!.manifest;
            return { type: "kubernetes:apps/v1:Deployment", props: deployment as Record<string, any> };
        };
        const security = RESOURCE_RULES.find((rule) => rule.name === "workload-security-profile")!;
        const restricted = workloadOf(spec);
        assert.deepEqual(restricted.props.spec.template.spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
        assert.deepEqual(restricted.props.spec.template.spec.containers[0].securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        assert.equal(restricted.props.metadata.annotations, undefined);
        assert.deepEqual(security.checkResource(restricted, {}), []);

        const root = workloadOf(exempt);
        assert.deepEqual(root.props.spec.template.spec.securityContext, { seccompProfile: { type: "RuntimeDefault" } });
        assert.equal(root.props.spec.template.spec.containers[0].securityContext, undefined);
        assert.deepEqual(root.props.metadata.annotations, { [SECURITY_EXEMPTION_ANNOTATION]: "the image needs root to bind port 80" });
        assert.deepEqual(security.checkResource(root, {}), []);
        delete root.props.metadata.annotations;
        assert.equal(security.checkResource(root, {}).length, 1, "the same pod without its reason fails (negative control)");
    });

    it("every shipped workload runs restricted or says why it is exempt: RuoYi's images need root, Bookinfo's do not", async function () {
        const workloads = (await registered("dev")).filter((resource) => /:(Deployment|StatefulSet)$/.test(resource.type));
        const named = (namespace: string) => workloads.filter((workload) => workload.props.metadata.namespace === namespace);
        assert.deepEqual(named("ruoyi").map((workload) => workload.props.metadata.name).sort(), ["mysql", "redis", "ruoyi-admin", "ruoyi-ui"]);
        for (const workload of named("ruoyi")) assert.match(workload.props.metadata.annotations?.[SECURITY_EXEMPTION_ANNOTATION] ?? "", /root/, workload.props.metadata.name);
        assert.deepEqual(named("bookinfo").map((workload) => workload.props.metadata.name).sort(), BOOKINFO_WORKLOADS);
        for (const workload of named("bookinfo")) assert.equal(workload.props.metadata.annotations, undefined, workload.props.metadata.name);
        assert.equal(workloads.length, 4 + BOOKINFO_WORKLOADS.length);
    });
});
