import assert from "node:assert/strict";
import { ConfigError, GovernedApp, IstioControlPlane, Observability, peersData, platformData, readPeers, readPlatform, type AppPeer, type PlatformData } from "../components";
import * as path from "node:path";
import { PROJECT_ROOT, runWithMocks, STACK_REFERENCE_TYPE } from "../mocks/mockEngine";

/**
 * The fleet pieces of the library, as a platform team's and an app team's own programs use them:
 * platformData from the components themselves, readPlatform and readPeers through StackReferences
 * (typed, validated), peersData from GovernedApp's `peer`.
 */

const WEB = { name: "web", image: "ghcr.io/acme/web:1.0.0", ports: [{ name: "http", port: 8080 }], env: { TOKEN: "do-not-export-9876" } };

describe("the fleet library", function () {
    it("platformData turns the platform's own components into plain, versioned data", async function () {
        const { outputs } = await runWithMocks(() => {
            const istio = new IstioControlPlane("istio", { gateway: { enabled: true }, revision: "canary" });
            const observability = new Observability("observability", { istioReady: istio.ready }, { dependsOn: [istio] });
            return platformData({ istio, observability, networkPolicies: "ingress+egress" });
        });
        assert.deepEqual(JSON.parse(JSON.stringify(outputs)), outputs, "plain JSON, no Output or resource in it");
        assert.equal(outputs.schema, 1);
        assert.equal(outputs.production, false);
        assert.equal(outputs.istio!.revision, "canary");
        assert.deepEqual(outputs.istio!.podInjectionLabels, { "istio.io/rev": "canary" });
        assert.deepEqual(outputs.prometheus, { namespace: "istio-system", podSelector: { app: "prometheus", "app.kubernetes.io/instance": "prometheus", "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/part-of": "pluggable-mesh" } });
        assert.equal(outputs.networkPolicies, "ingress+egress");
    });

    it("an app team reads the platform and its peers, and exports its own apps as peers", async function () {
        const platform = (await runWithMocks(() => platformData({ istio: new IstioControlPlane("istio", {}) }))).outputs;
        const payments: AppPeer = { mode: "istio", spec: { name: "payments", components: [{ name: "api", image: "ghcr.io/acme/payments:2.0.0", ports: [{ name: "http", port: 80 }] }] } };
        const { resources, outputs } = await runWithMocks(async () => {
            const read = await readPlatform("acme/platform/prod");
            const others = (await readPeers("acme/payments/prod")) ?? [];
            const shop = new GovernedApp("shop", { mode: "istio", platform: read, peers: others, components: [{ ...WEB, dependsOn: ["payments/api"] }] });
            return { platform: read, peers: peersData([shop.peer]) };
        }, { stackOutputs: { "acme/platform/prod": { platform }, "acme/payments/prod": { peers: peersData([payments]) } } });
        assert.deepEqual(resources.filter((resource) => resource.type === STACK_REFERENCE_TYPE).map((resource) => resource.name), ["acme/platform/prod", "acme/payments/prod"]);
        assert.deepEqual(outputs.platform, platform);
        const deployment = resources.find((resource) => resource.type === "kubernetes:apps/v1:Deployment")!;
        const env = Object.fromEntries((deployment.inputs.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((variable) => [variable.name, variable.value]));
        assert.equal(env.API_HOST, "api.payments.svc.cluster.local");
        assert.deepEqual(outputs.peers.apps[0]!.spec.components[0], { name: "web", image: "ghcr.io/acme/web:1.0.0", ports: [{ name: "http", port: 8080 }], dependsOn: ["payments/api"] });
        assert.ok(!JSON.stringify(outputs.peers).includes("do-not-export"));
    });

    it("examples/fleet: the platform team's program exports what the shop team's program reads", async function () {
        const example = (name: string) => {
            const file = path.join(PROJECT_ROOT, "examples", "fleet", `${name}.ts`);
            delete require.cache[require.resolve(file)];
            return require(file);
        };
        const platform = (await runWithMocks(() => ({ ...example("platform") }), { stack: "platform" })).outputs.platform as PlatformData;
        assert.equal(platform.networkPolicies, "ingress+egress");
        const catalog: AppPeer = { mode: "envoy", spec: { name: "catalog", components: [{ name: "catalog-api", image: "ghcr.io/acme/catalog-api:2.3.1", ports: [{ name: "http", port: 8080 }] }] } };
        const { resources, outputs } = await runWithMocks(() => (example("shop") as () => Promise<{ peers: unknown }>)(), {
            stack: "shop",
            stackOutputs: { platform: { platform }, catalog: { peers: peersData([catalog]) } },
        });
        const web = resources.find((resource) => resource.type === "kubernetes:apps/v1:Deployment" && resource.name === "shop-web")!;
        assert.equal(web.inputs.spec.template.metadata.labels["sidecar.istio.io/inject"], "true");
        const env = Object.fromEntries((web.inputs.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((variable) => [variable.name, variable.value]));
        assert.equal(env.CATALOG_URL, "http://catalog-api.catalog.svc.cluster.local:8080");
        assert.deepEqual((outputs.peers as { apps: AppPeer[] }).apps.map((app) => app.spec.name), ["shop"]);
    });

    it("refuses a platform that is missing or malformed, and a malformed peers output, naming the stack and field", async function () {
        const refusal = async (stackOutputs: Record<string, Record<string, unknown>>, read: () => Promise<unknown>) => {
            let error: unknown;
            await runWithMocks(async () => {
                try {
                    await read();
                } catch (thrown) {
                    error = thrown;
                }
            }, { stackOutputs });
            assert.ok(error instanceof ConfigError, String(error));
            return error.message;
        };
        assert.equal(
            await refusal({ plat: {} }, () => readPlatform("plat")),
            'invalid configuration (1 problem):\nStackReference "plat": stack "plat" has no output "platform" (it is not deployed, or does not export it); deploy it first',
        );
        const platform = (await runWithMocks(() => platformData())).outputs as PlatformData;
        assert.equal(
            await refusal({ plat: { platform: { ...platform, networkPolicies: "all" } } }, () => readPlatform("plat")),
            'invalid configuration (1 problem):\nStackReference "plat": stack "plat": output platform.networkPolicies: "all" is not allowed; use one of ingress, ingress+egress, off',
        );
        assert.equal(
            await refusal({ apps: { peers: { schema: 1, apps: [{ mode: "consul", spec: { name: "x", components: [{ name: "a" }] } }] } } }, () => readPeers("apps")),
            'invalid configuration (1 problem):\nStackReference "apps": stack "apps": output peers.apps[0].mode: "consul" is not a mode; use one of native, envoy, istio, linkerd',
        );
        // A stack that is there but exports no peers yet is not an error: undefined.
        const { outputs } = await runWithMocks(() => readPeers("apps"), { stackOutputs: { apps: {} } });
        assert.equal(outputs, undefined);
    });
});
