import assert from "node:assert/strict";
import * as path from "node:path";
import { PROJECT_ROOT, runWithMocks, type RegisteredResource } from "../mocks/mockEngine";
import { validateManifest } from "./support/schemas";

/**
 * The example program in examples/shop uses the components as a library (`import ... from
 * "pluggable-mesh"`, resolved here to components/index.ts through tsconfig's paths), with no stack
 * YAML. It is rendered under mocks; test/integration/library.test.ts runs the same program through
 * the real engine and installs the packed package.
 */
const EXAMPLE = path.join(PROJECT_ROOT, "examples", "shop", "index.ts");

async function renderExample(): Promise<RegisteredResource[]> {
    delete require.cache[require.resolve(EXAMPLE)];
    const { resources } = await runWithMocks(() => require(EXAMPLE), { stack: "example", config: {} });
    return resources;
}

function env(resource: RegisteredResource | undefined): Record<string, string> {
    const containers: { name: string; env?: { name: string; value: string }[] }[] = resource?.inputs.spec.template.spec.containers ?? [];
    return Object.fromEntries(containers[0]!.env!.map((variable) => [variable.name, variable.value]));
}

describe("examples/shop: the components as a library", function () {
    let resources: RegisteredResource[];
    const named = (type: string, name: string) => resources.find((resource) => resource.type === type && resource.name === name);

    before(async function () {
        resources = await renderExample();
    });

    it("registers the control plane and both apps as components, with names derived from theirs", function () {
        assert.ok(named("pluggable-mesh:istio:IstioControlPlane", "istio"));
        assert.ok(named("pluggable-mesh:app:GovernedApp", "shop"));
        assert.ok(named("pluggable-mesh:app:GovernedApp", "catalog"));
        assert.ok(named("kubernetes:apps/v1:Deployment", "shop-web"));
        assert.ok(named("kubernetes:apps/v1:StatefulSet", "catalog-catalog-db"));
    });

    it("derives each app's addresses from its own mode and its peer's", function () {
        // istio mode reaches the catalog by Service name; envoy mode reaches its database on 127.0.0.1.
        assert.equal(env(named("kubernetes:apps/v1:Deployment", "shop-web")).CATALOG_API_URL, "http://catalog-api.catalog.svc.cluster.local:9090");
        const api = env(named("kubernetes:apps/v1:Deployment", "catalog-catalog-api"));
        assert.equal(api.DATABASE_HOST, "127.0.0.1");
        assert.equal(api.DATABASE_PORT, "5432");
    });

    it("injects istio-mode pods and makes them wait for istiod", function () {
        const web = named("kubernetes:apps/v1:Deployment", "shop-web")!;
        assert.equal(web.inputs.spec.template.metadata.labels["sidecar.istio.io/inject"], "true");
        const api = named("kubernetes:apps/v1:Deployment", "catalog-catalog-api")!;
        assert.equal(api.inputs.spec.template.metadata.labels["sidecar.istio.io/inject"], undefined);
    });

    it("emits only objects that pass the Kubernetes and Istio schemas", async function () {
        const objects = resources.filter((resource) => resource.type.startsWith("kubernetes:") && !resource.type.startsWith("kubernetes:helm") && resource.custom);
        assert.ok(objects.length >= 20, `only ${objects.length} objects`);
        for (const object of objects) {
            const [group, kind] = object.type.slice("kubernetes:".length).split(":");
            const apiVersion = object.inputs.apiVersion ?? (group!.startsWith("core/") ? group!.slice("core/".length) : group);
            await validateManifest({ ...object.inputs, apiVersion, kind: object.inputs.kind ?? kind } as any);
        }
    });
});
