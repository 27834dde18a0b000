import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { readStackConfig } from "../engine/stackFile";
import { validateEnvoyBootstrap } from "./support/envoyApi";
import { LINKERD_CRD_TEMPLATES, LINKERD_CRDS_DIR, linkerdCrds, renderChartTemplate } from "./support/linkerdCrds";
import { kubeObjects, MODE_NAMES, ruoyiObjects, runProgram, type KubeObject } from "./support/meshRuns";
import { validateManifest, type Manifest } from "./support/schemas";

/**
 * Everything the program emits passes upstream schemas: Kubernetes' OpenAPI and Istio's CRDs
 * (kubernetes-models), Linkerd's CRD chart, and envoy's v3 API for every sidecar bootstrap. Checked for every stack
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

            if (mode === "linkerd") {
                it("emits Linkerd's policy kinds, so their schema check cannot pass by emitting none", () => {
                    const kinds = new Set(objects.map((object) => object.kind));
                    assert.deepEqual(["Server", "AuthorizationPolicy", "MeshTLSAuthentication", "NetworkAuthentication"].filter((kind) => !kinds.has(kind)), []);
                });
            }

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

        it("rejects Linkerd objects that break the CRD schemas: an unknown field, a wrong type, an unserved version", async () => {
            const server = { apiVersion: "policy.linkerd.io/v1beta3", kind: "Server", metadata: { name: "web.http", namespace: "shop" } };
            await assert.rejects(validateManifest({ ...server, spec: { podSelector: { matchLabels: { app: "web" } }, port: 8080, proxyProtocoll: "HTTP/1" } } as Manifest), {
                message: 'Server/web.http: data/spec must NOT have additional properties ("proxyProtocoll")',
            });
            await assert.rejects(validateManifest({ ...server, spec: { port: 8080 } } as Manifest), {
                message: "Server/web.http: data/spec must have required property 'podSelector', data/spec must have required property 'externalWorkloadSelector', data/spec must match exactly one schema in oneOf",
            });
            await assert.rejects(
                validateManifest({
                    apiVersion: "gateway.networking.k8s.io/v1",
                    kind: "GRPCRoute",
                    metadata: { name: "web.grpc" },
                    spec: { parentRefs: [{ group: "core", kind: "Service", name: "web", port: "9090" }] },
                } as Manifest),
                { message: "GRPCRoute/web.grpc: data/spec/parentRefs/0/port must be integer" },
            );
            await assert.rejects(validateManifest({ ...server, apiVersion: "policy.linkerd.io/v1beta4", spec: {} } as Manifest), {
                message: "Server/web.http: Linkerd's CRDs serve no Server in policy.linkerd.io/v1beta4",
            });
        });

        it("reports a broken Linkerd object through the same pipeline the suites use", async () => {
            const objects = await ruoyiObjects("linkerd");
            const broken = objects.map((object) =>
                object.kind === "MeshTLSAuthentication" && object.manifest.metadata.name === "mysql.mysql"
                    ? { ...object, manifest: { ...object.manifest, spec: { identityRefs: [] } } }
                    : object,
            );
            assert.deepEqual(await schemaFailures(broken), [
                "MeshTLSAuthentication/mysql.mysql: data/spec/identityRefs must NOT have fewer than 1 items",
            ]);
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

    describe("Linkerd's CRD chart", () => {
        it("every kept file is upstream's byte for byte (its git blob id as UPSTREAM.md records it)", () => {
            const recorded = [...fs.readFileSync(path.join(LINKERD_CRDS_DIR, "UPSTREAM.md"), "utf8").matchAll(/^\| `([^`]+)` \| `([0-9a-f]{40})` \|$/gm)].map(([, file, id]) => [file, id]);
            assert.deepEqual(recorded.map(([file]) => file), ["Chart.yaml", "values.yaml", ...LINKERD_CRD_TEMPLATES]);
            for (const [file, id] of recorded) {
                const bytes = fs.readFileSync(path.join(LINKERD_CRDS_DIR, file!));
                const blob = createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
                assert.equal(blob, id, file);
            }
        });

        it("renders to the six CRDs we validate against, with no template expression left", () => {
            const crds = linkerdCrds();
            assert.deepEqual(
                crds.map((crd) => `${crd.metadata.name} ${crd.spec.versions.filter((version) => version.served).map((version) => version.name).join(",")}`),
                [
                    "servers.policy.linkerd.io v1alpha1,v1beta1,v1beta2,v1beta3",
                    "authorizationpolicies.policy.linkerd.io v1alpha1",
                    "meshtlsauthentications.policy.linkerd.io v1alpha1",
                    "networkauthentications.policy.linkerd.io v1alpha1",
                    "grpcroutes.gateway.networking.k8s.io v1,v1alpha2",
                    "httproutes.gateway.networking.k8s.io v1,v1beta1",
                ],
            );
            assert.deepEqual(crds[0]!.metadata.labels, { "helm.sh/chart": "linkerd-crds-0.0.0-undefined", "linkerd.io/control-plane-ns": "linkerd" });
            assert.deepEqual(crds[0]!.metadata.annotations, { "linkerd.io/created-by": "linkerd/helm 0.0.0-undefined" });
        });

        it("the Gateway API guard drops the route CRDs unless installGatewayAPI, as Helm would", () => {
            assert.deepEqual(
                linkerdCrds({ releaseNamespace: "mesh", installGatewayAPI: false }).map((crd) => crd.metadata.name),
                ["servers.policy.linkerd.io", "authorizationpolicies.policy.linkerd.io", "meshtlsauthentications.policy.linkerd.io", "networkauthentications.policy.linkerd.io"],
            );
        });

        it("refuses a template expression it does not render instead of passing it through", () => {
            const chart = parseYaml(fs.readFileSync(path.join(LINKERD_CRDS_DIR, "Chart.yaml"), "utf8")) as { name: string; version: string };
            assert.throws(() => renderChartTemplate("x.yaml", "metadata:\n  name: {{ .Values.name }}\n", chart, { releaseNamespace: "linkerd", installGatewayAPI: true }), {
                message: "x.yaml: template expression {{ .Values.name }} is not rendered by this substitution",
            });
        });
    });
});
