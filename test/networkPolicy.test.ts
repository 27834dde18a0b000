import assert from "node:assert/strict";
import { findObject, kubeObjects, MODE_NAMES, objectsOfKind, ruoyiConfig, ruoyiObjects, runProgram, type KubeObject, type ModeName } from "./support/meshRuns";
import { validateManifest } from "./support/schemas";
import { checkApps, renderApp, resolvePlatform } from "../components/app";

/**
 * NetworkPolicies from the declared dependency graph, in every mode (docs/authorization.md): the
 * exact policies RuoYi gets, what each level emits, and that they pass Kubernetes' schema.
 */

const RUOYI = { "app.kubernetes.io/instance": "ruoyi" };
const pods = (component: string) => ({ podSelector: { matchLabels: { ...RUOYI, "app.kubernetes.io/name": component } } });
const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));
const PROMETHEUS = {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } },
    podSelector: { matchLabels: { app: "prometheus", "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "prometheus", "app.kubernetes.io/part-of": "pluggable-mesh" } },
};
const GATEWAY = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } }, podSelector: { matchLabels: { app: "istio-ingressgateway", istio: "ingressgateway" } } };
/**
 * A port of RuoYi's as every mode's pods receive it: the app's own port, Linkerd's proxy inbound
 * port (meshed callers dial it) and envoy's sidecar port (RuoYi's components have one port each,
 * so 15010): admitted in every mode, so both pod kinds stay reachable while a switch rolls.
 */
const served = (port: number) => tcp(...[port, 4143, 15010].sort((a, b) => a - b));
/** The port Prometheus scrapes on each mode's pods (none: nothing scraped). */
const METRICS: Record<ModeName, number | undefined> = { native: undefined, envoy: 15090, istio: 15020, linkerd: undefined };
const OBSERVABILITY = { "pluggable-mesh:observability": JSON.stringify({ enabled: true }) };

async function policies(config: Record<string, string>): Promise<KubeObject[]> {
    return kubeObjects((await runProgram(config)).resources).filter((object) => object.kind === "NetworkPolicy");
}

describe("NetworkPolicies", () => {
    for (const mode of MODE_NAMES) {
        describe(`RuoYi in mode ${mode}, with Prometheus (level ingress, the default)`, () => {
            let objects: KubeObject[];
            before(async () => {
                objects = (await policies(ruoyiConfig(mode, OBSERVABILITY))).filter((object) => object.manifest.metadata.namespace === "ruoyi");
            });
            const scraped = () => (METRICS[mode] === undefined ? [] : [{ from: [PROMETHEUS], ports: tcp(METRICS[mode]!) }]);

            it("admits only ruoyi-ui to ruoyi-admin, on the ports every mode serves its port on, and Prometheus on the mode's metrics port", () => {
                assert.deepEqual(findObject(objects, "NetworkPolicy", "ruoyi-admin", "ruoyi").spec, {
                    podSelector: pods("ruoyi-admin").podSelector,
                    policyTypes: ["Ingress"],
                    ingress: [{ from: [pods("ruoyi-ui")], ports: served(8080) }, ...scraped()],
                });
            });

            it("admits only ruoyi-admin to mysql and redis", () => {
                for (const [name, port] of [["mysql", 3306], ["redis", 6379]] as const) {
                    assert.deepEqual(findObject(objects, "NetworkPolicy", name, "ruoyi").spec.ingress, [{ from: [pods("ruoyi-admin")], ports: served(port) }, ...scraped()], name);
                }
            });

            it("admits the exposed ruoyi-ui from the ingress gateway (istio) or any source (an Ingress controller we cannot name)", () => {
                const exposure = mode === "istio" ? { from: [GATEWAY], ports: served(80) } : { ports: served(80) };
                assert.deepEqual(findObject(objects, "NetworkPolicy", "ruoyi-ui", "ruoyi").spec.ingress, [exposure, ...scraped()]);
            });

            it("denies everything else in the namespace the app owns", () => {
                assert.deepEqual(findObject(objects, "NetworkPolicy", "default-deny.pluggable-mesh", "ruoyi").spec, { podSelector: {}, policyTypes: ["Ingress"] });
                assert.equal(objects.length, 5);
            });

            it("every policy passes Kubernetes' schema", async () => {
                for (const object of objects) await validateManifest(object.manifest as { apiVersion: string; kind: string });
            });
        });
    }

    describe("level ingress+egress", () => {
        const egressOf = async (mode: ModeName) =>
            findObject(await policies(ruoyiConfig(mode, { "pluggable-mesh:networkPolicies": "ingress+egress" })), "NetworkPolicy", "ruoyi-admin", "ruoyi").spec;
        const DNS = { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] };
        const DEPENDENCIES = [{ to: [pods("mysql")], ports: served(3306) }, { to: [pods("redis")], ports: served(6379) }];

        it("native and envoy: DNS and the declared dependencies only", async () => {
            for (const mode of ["native", "envoy"] as const) {
                const spec = await egressOf(mode);
                assert.deepEqual(spec.policyTypes, ["Ingress", "Egress"]);
                assert.deepEqual(spec.egress, [DNS, ...DEPENDENCIES], mode);
            }
        });

        it("istio: also istiod's xDS port; linkerd: also its control plane's identity, destination and policy ports", async () => {
            assert.deepEqual((await egressOf("istio")).egress, [
                DNS,
                ...DEPENDENCIES,
                { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } }, podSelector: { matchLabels: { app: "istiod" } } }], ports: tcp(15012) },
            ]);
            assert.deepEqual((await egressOf("linkerd")).egress, [DNS, ...DEPENDENCIES, { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "linkerd" } } }], ports: tcp(8080, 8086, 8090) }]);
        });

        it("the default-deny covers egress too", async () => {
            const objects = await policies(ruoyiConfig("native", { "pluggable-mesh:networkPolicies": "ingress+egress" }));
            assert.deepEqual(findObject(objects, "NetworkPolicy", "default-deny.pluggable-mesh", "ruoyi").spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        });
    });

    it("level off emits none, for the apps and for Prometheus and Kiali", async () => {
        assert.deepEqual(await policies(ruoyiConfig("istio", { ...OBSERVABILITY, "pluggable-mesh:networkPolicies": "off" })), []);
    });

    it("Prometheus admits only Kiali; Kiali admits anyone on its UI port (ClusterIP exposure) and Prometheus on its metrics port", async () => {
        const objects = await policies(ruoyiConfig("istio", OBSERVABILITY));
        const kiali = { podSelector: { matchLabels: { app: "kiali", "app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali", "app.kubernetes.io/part-of": "pluggable-mesh" } } };
        assert.deepEqual(findObject(objects, "NetworkPolicy", "prometheus", "istio-system").spec, {
            podSelector: PROMETHEUS.podSelector,
            policyTypes: ["Ingress"],
            ingress: [{ from: [kiali], ports: tcp(9090) }],
        });
        assert.deepEqual(findObject(objects, "NetworkPolicy", "kiali", "istio-system").spec, {
            podSelector: kiali.podSelector,
            policyTypes: ["Ingress"],
            ingress: [{ ports: tcp(20001) }, { from: [{ podSelector: PROMETHEUS.podSelector }], ports: tcp(9090) }],
        });
    });

    it("a component named default-deny keeps its own policy beside the namespace's (no name is shared)", () => {
        const platform = resolvePlatform();
        const spec = { name: "shop", components: [{ name: "default-deny", image: "ghcr.io/acme/web:1.0.0", ports: [{ name: "http", port: 8080 }] }] };
        const { apps, problems } = checkApps([{ spec }], { platform });
        assert.deepEqual(problems, []);
        const policies = renderApp(apps[0]!, platform).objects.filter((object) => object.manifest.kind === "NetworkPolicy");
        assert.deepEqual(policies.map((object) => [object.name, object.manifest.metadata.name]), [
            ["shop-default-deny", "default-deny"],
            ["shop-default-deny.pluggable-mesh", "default-deny.pluggable-mesh"],
        ]);
    });

    it("the schema check can fail (negative control)", async () => {
        const objects = await ruoyiObjects("native");
        const policy = structuredClone(objectsOfKind(objects, "NetworkPolicy")[0]!);
        policy.spec.policyTypes = "Ingress";
        await assert.rejects(validateManifest(policy as { apiVersion: string; kind: string }), /NetworkPolicy\/.*policyTypes/);
    });
});
