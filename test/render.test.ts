import assert from "node:assert/strict";
import { renderConfig, type RenderResult } from "../cli/render";
import { PROJECT_ROOT, runWithMocks, type RegisteredResource } from "../mocks/mockEngine";
import { pluggableMesh } from "../stacks/program";
import { ruoyiConfig } from "./support/meshRuns";

/** `npm run render` output: every object, the charts, and an index of the engine's URNs; secrets never in plain text. */

const SIGNING_KEY = "render-test-key-0123456789abcdef"; // 32 bytes, as Kiali wants
const CONFIG = ruoyiConfig("istio", {
    "pluggable-mesh:observability": JSON.stringify({ enabled: true, kialiAuth: "token", kialiExposure: "gateway", kialiHost: "kiali.example.com" }),
    "pluggable-mesh:kialiSigningKey": SIGNING_KEY,
});

describe("the offline render", () => {
    let render: RenderResult;
    let resources: RegisteredResource[];
    before(async () => {
        render = await renderConfig("test", CONFIG);
        ({ resources } = await runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack: "test", config: CONFIG }));
    });

    it("the program hands the signing key over as a secret (negative control: the records hold it in plain text)", () => {
        const secret = resources.find((resource) => resource.name === "observability-kiali-signing-key")!;
        assert.deepEqual(secret.secretInputs, ["stringData"]);
        assert.equal(secret.inputs.stringData["signing-key"], SIGNING_KEY);
    });

    it("redacts it in the objects and leaves it nowhere in objects, charts or index", () => {
        const secret = render.objects.find((object) => (object.metadata as { name: string }).name === "kiali-signing-key" && object.kind === "Secret")!;
        assert.deepEqual(secret.stringData, { "signing-key": "redacted" });
        assert.ok(!JSON.stringify(render).includes(SIGNING_KEY));
    });

    it("indexes every resource with the engine's URN and its parent's", () => {
        assert.equal(render.index.length, resources.length);
        const app = render.index.find((entry) => entry.type === "pluggable-mesh:app:GovernedApp")!;
        assert.deepEqual(app, {
            type: "pluggable-mesh:app:GovernedApp",
            name: "ruoyi",
            urn: "urn:pulumi:test::pluggable-mesh::pluggable-mesh:app:GovernedApp::ruoyi",
            parent: "urn:pulumi:test::pluggable-mesh::pulumi:pulumi:Stack::pluggable-mesh-test",
        });
        const deployment = render.index.find((entry) => entry.name === "ruoyi-ruoyi-admin" && entry.type === "kubernetes:apps/v1:Deployment")!;
        assert.deepEqual(deployment, {
            type: "kubernetes:apps/v1:Deployment",
            name: "ruoyi-ruoyi-admin",
            urn: "urn:pulumi:test::pluggable-mesh::pluggable-mesh:app:GovernedApp$kubernetes:apps/v1:Deployment::ruoyi-ruoyi-admin",
            parent: app.urn,
        });
    });
});
