import assert from "node:assert/strict";
import { ConfigError, GovernedApp, IstioControlPlane, type AppPeer } from "../components";
import { runWithMocks, type RegisteredResource } from "../mocks/mockEngine";

/**
 * GovernedApp from a plain Pulumi program (the library surface): typed args that are the app
 * spec's own fields, the platform taken from IstioControlPlane, peers across apps, and the same
 * refusal before registration as the stack program.
 */
const web = (dependsOn: string[] = []) => ({
    name: "web",
    image: "ghcr.io/acme/web:1.4.2",
    ports: [{ name: "http", port: 80, protocol: "http" as const }],
    dependsOn,
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
});

const api: AppPeer = {
    mode: "istio",
    spec: { name: "api", components: [{ ...web(), name: "api" }] },
};

describe("GovernedApp as a library component", function () {
    it("takes the trust domain and readiness from the control plane, and names children after itself", async function () {
        const { resources } = await runWithMocks(() => {
            const istio = new IstioControlPlane("mesh", { trustDomain: "example.org" });
            const shop = new GovernedApp("shop", { mode: "istio", platform: { istio: istio.platform }, components: [web(["api/api"])], peers: [api] });
            new GovernedApp("api", { mode: "istio", platform: { istio: istio.platform }, components: api.spec.components, peers: [shop.peer] });
        });
        const policy = resources.find((resource) => resource.type === "kubernetes:security.istio.io/v1:AuthorizationPolicy" && resource.name.startsWith("api-"))!;
        assert.deepEqual(policy.inputs.spec.rules[0].from, [{ source: { principals: ["example.org/ns/shop/sa/shop-web"] } }]);
        const deployment = resources.find((resource) => resource.type === "kubernetes:apps/v1:Deployment" && resource.name === "shop-web")!;
        assert.equal(deployment.parent, resources.find((resource) => resource.type === "pluggable-mesh:app:GovernedApp" && resource.name === "shop")!.urn);
        const istiod = resources.find((resource) => resource.type === "kubernetes:helm.sh/v4:Chart" && resource.name === "mesh-istiod")!;
        assert.ok(deployment.dependencies.includes(istiod.urn), "the app's pods wait for istiod");
        assert.equal(deployment.inputs.spec.template.spec.containers[0].env.find((variable: { name: string }) => variable.name === "API_URL").value, "http://api.api.svc.cluster.local:80");
    });

    it("refuses a platform trust domain that differs from the control plane's, registering nothing", async function () {
        let registered: RegisteredResource[] = [];
        await assert.rejects(
            async () => {
                const run = await runWithMocks(() => {
                    const istio = { namespace: "istio-system", trustDomain: "example.org", podInjectionLabels: {}, namespaceInjectionLabels: {} };
                    new GovernedApp("shop", { mode: "istio", platform: { istio, trustDomain: "cluster.local" }, components: [web()] });
                });
                registered = run.resources;
            },
            (error: unknown) =>
                error instanceof ConfigError &&
                error.message === 'invalid configuration (1 problem):\nGovernedApp shop: platform.trustDomain: "cluster.local" differs from the Istio control plane\'s trust domain "example.org"; leave it out to use the control plane\'s',
        );
        assert.deepEqual(registered, []);
    });

    it("refuses a dependency on an app that is not a peer, naming the component's field", async function () {
        await assert.rejects(
            runWithMocks(() => new GovernedApp("shop", { components: [web(["api/api"])] })),
            (error: unknown) => error instanceof ConfigError && /^GovernedApp shop: components\[0\]\.dependsOn\[0\]/m.test(error.message.split("\n")[1]!),
        );
    });
});
