import assert from "node:assert/strict";
import { readStackConfig } from "../engine/stackFile";
import { validateEnvoyBootstrap } from "./support/envoyApi";
import { kubeObjects, MODE_NAMES, ruoyiObjects, runProgram, type KubeObject } from "./support/meshRuns";
import { validateManifest } from "./support/schemas";

/**
 * Everything the program emits passes upstream schemas: Kubernetes' OpenAPI and Istio's CRDs
 * (kubernetes-models), and envoy's v3 API for every sidecar bootstrap. Checked for every stack
 * file and for RuoYi in every mode, with negative controls proving the harness can fail.
 */

/** Validates every object and returns the failures, so one run reports all of them at once. */
async function schemaFailures(objects: readonly KubeObject[]): Promise<string[]> {
    const failures: string[] = [];
    for (const object of objects) {
        await validateManifest(object.manifest as { apiVersion: string; kind: string }).catch((error: Error) => failures.push(error.message));
    }
    return failures;
}

/** The envoy bootstraps among the objects: ConfigMaps with an `envoy.json` key, parsed. */
function envoyBootstraps(objects: readonly KubeObject[]): { name: string; bootstrap: unknown }[] {
    return objects
        .filter((object) => object.kind === "ConfigMap" && typeof object.manifest.data?.["envoy.json"] === "string")
        .map((object) => ({ name: object.manifest.metadata.name as string, bootstrap: JSON.parse(object.manifest.data["envoy.json"] as string) as unknown }));
}

function bootstrapProblems(objects: readonly KubeObject[]): string[] {
    return envoyBootstraps(objects).flatMap(({ name, bootstrap }) => validateEnvoyBootstrap(bootstrap).map((problem) => `ConfigMap/${name}: ${problem}`));
}

/**
 * Kinds each stack file must at least emit (RuoYi's, plus the mode's), so a silently empty run
 * cannot pass; the platform components (control plane, observability) add more of their own.
 */
const APP_KINDS = ["ConfigMap", "Deployment", "Namespace", "Secret", "Service", "ServiceAccount", "StatefulSet"];
const STACK_KINDS: Record<string, string[]> = {
    dev: [...APP_KINDS, "Ingress"],
    staging: [...APP_KINDS, "Ingress"],
    prod: [...APP_KINDS, "AuthorizationPolicy", "DestinationRule", "Gateway", "PeerAuthentication", "VirtualService"],
};

// Staging (envoy mode): one per component, RuoYi 4 and Bookinfo 4 (the versions of a component share one).
const STACK_BOOTSTRAPS: Record<string, number> = { dev: 0, staging: 8, prod: 0 };

describe("upstream schemas", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        describe(`stack ${stack}`, () => {
            let objects: KubeObject[];
            before(async () => {
                objects = kubeObjects((await runProgram(readStackConfig(stack), stack)).resources);
            });

            it("emits at least the app's kinds", () => {
                const kinds = new Set(objects.map((object) => object.kind));
                assert.deepEqual(STACK_KINDS[stack]!.filter((kind) => !kinds.has(kind)), []);
            });

            it("every Kubernetes and Istio object passes its schema", async () => {
                assert.deepEqual(await schemaFailures(objects), []);
            });

            it("every envoy bootstrap passes envoy's v3 API with zero problems", () => {
                assert.equal(envoyBootstraps(objects).length, STACK_BOOTSTRAPS[stack]);
                assert.deepEqual(bootstrapProblems(objects), []);
            });
        });
    }

    for (const mode of MODE_NAMES) {
        describe(`RuoYi in mode ${mode}`, () => {
            let objects: KubeObject[];
            before(async () => {
                objects = await ruoyiObjects(mode);
            });

            it("every Kubernetes and Istio object passes its schema", async () => {
                assert.ok(objects.length >= 20, `only ${objects.length} objects emitted`);
                assert.deepEqual(await schemaFailures(objects), []);
            });

            it("every envoy bootstrap passes envoy's v3 API with zero problems", () => {
                // One sidecar per component in envoy mode, none elsewhere.
                assert.equal(envoyBootstraps(objects).length, mode === "envoy" ? 4 : 0);
                assert.deepEqual(bootstrapProblems(objects), []);
            });
        });
    }

    describe("negative controls: the harness fails on bad objects", () => {
        it("rejects a Deployment with a bad field type", async () => {
            await assert.rejects(
                validateManifest({
                    apiVersion: "apps/v1",
                    kind: "Deployment",
                    metadata: { name: "bad" },
                    spec: { replicas: "two", selector: { matchLabels: { app: "bad" } }, template: { spec: { containers: [{ name: "bad", image: "bad:1" }] } } },
                } as { apiVersion: string; kind: string }),
                { message: "Deployment/bad: data/spec/replicas must be integer" },
            );
        });

        it('rejects a PeerAuthentication with mtls mode "STRICTT"', async () => {
            await assert.rejects(
                validateManifest({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "bad" }, spec: { mtls: { mode: "STRICTT" } } } as {
                    apiVersion: string;
                    kind: string;
                }),
                { message: "PeerAuthentication/bad: data/spec/mtls/mode must be equal to one of the allowed values" },
            );
        });

        it("refuses objects it has no schema for instead of passing them", async () => {
            await assert.rejects(validateManifest({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }), {
                message: 'Widget/w: no schema for apiVersion "example.com/v1"',
            });
            await assert.rejects(validateManifest({ apiVersion: "v1", kind: "Widget", metadata: { name: "w" } }), { message: 'Widget/w: no schema for kind "Widget" in v1' });
        });

        it("reports a broken emitted object through the same pipeline the suites use", async () => {
            const objects = await ruoyiObjects("istio");
            const broken = objects.map((object) =>
                object.kind === "PeerAuthentication"
                    ? { ...object, manifest: { ...object.manifest, spec: { ...object.manifest.spec, mtls: { mode: "STRICTT" } } } }
                    : object.kind === "StatefulSet"
                      ? { ...object, manifest: { ...object.manifest, spec: { ...object.manifest.spec, serviceName: 42 } } }
                      : object,
            );
            assert.deepEqual(await schemaFailures(broken), [
                ...["ruoyi-ui", "ruoyi-admin", "mysql", "redis"].map((name) => `PeerAuthentication/${name}: data/spec/mtls/mode must be equal to one of the allowed values`),
                "StatefulSet/mysql: data/spec/serviceName must be string",
            ]);
        });

        it("reports a broken envoy bootstrap through the same pipeline the suites use", async () => {
            const objects = await ruoyiObjects("envoy");
            const broken = objects.map((object) => {
                if (object.kind !== "ConfigMap" || !(object.manifest.metadata.name as string).startsWith("mysql-envoy-")) return object;
                const bootstrap = JSON.parse(object.manifest.data["envoy.json"] as string) as { admin: Record<string, unknown> };
                bootstrap.admin["bogus"] = 1;
                return { ...object, manifest: { ...object.manifest, data: { "envoy.json": JSON.stringify(bootstrap) } } };
            });
            const mysql = envoyBootstraps(broken).find((entry) => entry.name.startsWith("mysql-envoy-"))!;
            assert.deepEqual(bootstrapProblems(broken), [`ConfigMap/${mysql.name}: $.admin.bogus: unknown field "bogus" in envoy.config.bootstrap.v3.Admin`]);
        });
    });
});
