import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { parseAllDocuments } from "yaml";
import { engineEnvironment, ensureTools, PROJECT_ROOT, type Tools } from "../../engine/engine";

/**
 * examples/shop, a program that uses the components as a library with no stack YAML, through the
 * real engine and provider in render mode: the default provider writes YAML instead of applying it
 * (`kubernetes:renderYamlToDirectory`), and Istio's charts come from the fetched module.
 */
const EXAMPLE = path.join(PROJECT_ROOT, "examples", "shop", "index.ts");

/** `Kind namespace/name` of every object the provider wrote under `dir`. */
function renderedObjects(dir: string): string[] {
    return fs.readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((file) => file.endsWith(".yaml"))
        .flatMap((file) => parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8")).map((document) => document.toJSON() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null))
        .filter((object) => object?.kind)
        .map((object) => `${object!.kind} ${object!.metadata?.namespace ?? ""}/${object!.metadata?.name ?? ""}`);
}

describe("examples/shop through the real engine (render mode)", function () {
    let tools: Tools;
    let stateDir: string;

    before(function () {
        tools = ensureTools();
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-example-"));
    });

    after(function () {
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it("renders every object, then a second up changes nothing, then destroy removes everything", async function () {
        const renderDir = path.join(stateDir, "rendered");
        const pulumiCommand = await PulumiCommand.get({ root: path.dirname(tools.binDir), skipVersionCheck: true });
        const stack = await LocalWorkspace.createOrSelectStack(
            {
                projectName: "shop-example",
                stackName: "it",
                program: async () => {
                    delete require.cache[require.resolve(EXAMPLE)];
                    return require(EXAMPLE);
                },
            },
            { pulumiCommand, envVars: engineEnvironment(tools, path.join(stateDir, "state")) },
        );
        await stack.setAllConfig({
            "kubernetes:renderYamlToDirectory": { value: renderDir },
            "shop-example:istioChartsDir": { value: tools.istioCharts },
        });

        const up = await stack.up();
        assert.equal(up.summary.result, "succeeded");
        const rendered = renderedObjects(renderDir);
        for (const expected of ["Deployment shop/web", "StatefulSet catalog/catalog-db", "Deployment catalog/catalog-api", "AuthorizationPolicy shop/web", "Deployment istio-system/istiod"]) {
            assert.ok(rendered.includes(expected), `${expected} not rendered; got ${rendered.join(", ")}`);
        }
        const outputs = await stack.outputs();
        assert.deepEqual(Object.keys(outputs.services!.value).sort(), ["catalog", "shop"]);

        const again = await stack.preview();
        assert.deepEqual(Object.keys(again.changeSummary).filter((op) => op !== "same"), []);

        const destroyed = await stack.destroy();
        assert.equal(destroyed.summary.result, "succeeded");
        await stack.workspace.removeStack("it");
    });
});
