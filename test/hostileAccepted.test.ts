import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { checkManifestLimits, given, MAX_SHOWN_CHARACTERS, secretGiven } from "../components/model";
import { renderApp } from "../components/app";
import { IstioControlPlane } from "../components/istio";
import { runWithMocks } from "../mocks/mockEngine";
import { foreignKeyWarnings, loadStack } from "../stacks/load";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { apps, attempt, FAKE_TOKEN, RUOYI_SPEC, SpecFolder } from "./hostileCases";
import { kubeObjects, runProgram } from "./support/meshRuns";

/**
 * The other side of the hostile suite: what must still be accepted (and how), so the refusals
 * cannot pass by refusing everything. One trust domain end to end, shared namespaces with one
 * owner, warnings for keys meant for us, other templates in config files, value clipping.
 */

const istioStack = (extra: Record<string, string> = {}) => ({
    "pluggable-mesh:mode": "istio",
    "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", gateway: { enabled: true } }),
    ...apps({ spec: RUOYI_SPEC }),
    ...extra,
});

describe("accepted input", () => {
    let files: SpecFolder;
    before(() => {
        files = new SpecFolder("accepted-");
    });
    after(() => files.remove());

    describe("class 6: one trust domain for istiod and every principal", () => {
        for (const trustDomain of ["corp.example", "cluster.local"]) {
            it(`${trustDomain}: istiod's meshConfig.trustDomain and every AuthorizationPolicy principal carry it`, async () => {
                const run = await runProgram(istioStack(trustDomain === "cluster.local" ? {} : { "pluggable-mesh:trustDomain": trustDomain }));
                const istiod = run.resources.find((resource) => resource.type === "kubernetes:helm.sh/v4:Chart" && resource.name === "istio-istiod")!;
                assert.equal(istiod.inputs.values.meshConfig.trustDomain, trustDomain);
                const policies = kubeObjects(run.resources).filter((object) => object.kind === "AuthorizationPolicy");
                assert.equal(policies.length, 4);
                const principals = policies.flatMap((policy) => (policy.manifest.spec.rules ?? []).flatMap((rule: any) => rule.from ?? []).flatMap((from: any) => from.source.principals ?? []));
                assert.deepEqual([...new Set(principals)].sort(), [
                    `${trustDomain}/ns/istio-system/sa/istio-ingressgateway`,
                    `${trustDomain}/ns/ruoyi/sa/ruoyi-ruoyi-admin`,
                    `${trustDomain}/ns/ruoyi/sa/ruoyi-ruoyi-ui`,
                ]);
            });
        }

        it("IstioControlPlane's own gateway principal and platform carry its trust domain (default cluster.local)", async () => {
            const run = await runWithMocks(() => [
                new IstioControlPlane("corp", { trustDomain: "corp.example", gateway: { enabled: true } }),
                new IstioControlPlane("plain", { namespace: "mesh-system", gateway: { enabled: true } }),
            ]);
            const [corp, plain] = run.outputs;
            assert.equal(corp.gateway.principal, "corp.example/ns/istio-system/sa/istio-ingressgateway");
            assert.equal(corp.platform.gateway?.principal, "corp.example/ns/istio-system/sa/istio-ingressgateway");
            assert.equal(plain.gateway.principal, "cluster.local/ns/mesh-system/sa/istio-ingressgateway");
        });

        it("the component refuses a trust domain that is not a DNS name before registering anything", async () => {
            let error: unknown;
            const run = await runWithMocks(() => {
                try {
                    new IstioControlPlane("bad", { trustDomain: "corp example" });
                } catch (thrown) {
                    error = thrown;
                }
            });
            assert.equal(
                (error as Error).message,
                `invalid configuration (1 problem):\nbad.trustDomain: "corp example" is not a DNS name; use dot-separated labels of lowercase letters, digits and '-' (none empty, each at most 63 characters), at most 253 characters, e.g. "app.example.com"`,
            );
            assert.equal(run.resources.length, 0);
        });
    });

    describe("class 5: a namespace shared by apps has one owner and outlives it", () => {
        const shop = (createNamespace: boolean) =>
            files.write(`shop-${createNamespace}.yaml`, `name: shop\nnamespace: ruoyi\ncreateNamespace: ${createNamespace}\ncomponents:\n  - name: shop-web\n    image: nginx:1.27.3\n`);

        it("the owner's Namespace is retained on delete when another app uses it; the other app creates none", async () => {
            const run = await runProgram(apps({ spec: RUOYI_SPEC }, { spec: shop(false) }));
            const namespaces = run.resources.filter((resource) => resource.type === "kubernetes:core/v1:Namespace");
            assert.deepEqual(
                namespaces.map((namespace) => [namespace.name, namespace.inputs.metadata.name, namespace.retainOnDelete]),
                [["ruoyi", "ruoyi", true]],
            );
        });

        it("a control plane may live in a Kubernetes namespace it does not create", () => {
            const config = { ...apps({ spec: RUOYI_SPEC }), "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", namespace: "kube-system", createNamespace: false }) };
            assert.equal(loadStack(config, { projectRoot: PROJECT_ROOT }).istioControlPlane?.namespace, "kube-system");
        });

        it("an app alone in its namespace keeps the usual lifecycle (deleted with the app)", async () => {
            const run = await runProgram(apps({ spec: RUOYI_SPEC }));
            const namespace = run.resources.find((resource) => resource.type === "kubernetes:core/v1:Namespace")!;
            assert.equal(namespace.retainOnDelete, false);
        });
    });

    describe("class 8: keys in a namespace clearly meant for us", () => {
        it("warns (and names the key it should be) for near-miss namespaces, not for other providers' keys", () => {
            const raw = {
                "pluggable_mesh:mode": "istio",
                "pluggablemesh:mtls": "STRICT",
                "Pluggable-Mesh:production": "true",
                "pluggable-mesh.mode": "envoy",
                "pluggable-mesch:trustDomain": "corp.example",
                "kubernetes:context": "kind",
                "aws:region": "eu-west-1",
                "pluggable-mesh:mode": "native",
            };
            assert.deepEqual(foreignKeyWarnings(raw), [
                `"pluggable_mesh:mode" is not read by this project and is ignored; its settings are "pluggable-mesh:<name>": did you mean "pluggable-mesh:mode"?`,
                `"pluggablemesh:mtls" is not read by this project and is ignored; its settings are "pluggable-mesh:<name>": did you mean "pluggable-mesh:mtls"?`,
                `"Pluggable-Mesh:production" is not read by this project and is ignored; its settings are "pluggable-mesh:<name>": did you mean "pluggable-mesh:production"?`,
                `"pluggable-mesh.mode" is not read by this project and is ignored; its settings are "pluggable-mesh:<name>": did you mean "pluggable-mesh:mode"?`,
                `"pluggable-mesch:trustDomain" is not read by this project and is ignored; its settings are "pluggable-mesh:<name>": did you mean "pluggable-mesh:trustDomain"?`,
            ]);
        });

        it("the program deploys and logs the warning through pulumi.log.warn", async () => {
            const logged: string[] = [];
            const original = pulumi.log.warn;
            (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string) => void logged.push(message);
            try {
                const run = await runProgram({ ...apps({ spec: RUOYI_SPEC }), "pluggable_mesh:mode": "istio" });
                assert.ok(run.resources.length > 0);
            } finally {
                (pulumi.log as { warn: typeof pulumi.log.warn }).warn = original;
            }
            assert.deepEqual(logged.filter((message) => message.includes("pluggable_mesh")), [`"pluggable_mesh:mode" is not read by this project and is ignored; its settings are "pluggable-mesh:<name>": did you mean "pluggable-mesh:mode"?`]);
            assert.deepEqual(loadStack(apps({ spec: RUOYI_SPEC }), { projectRoot: PROJECT_ROOT }).warnings, []);
        });
    });

    describe("values that look hostile but are fine", () => {
        it("other template syntaxes in config files are shipped as written; a 32-byte signing key is accepted", async () => {
            const spec = files.ruoyi("templates.yaml", (doc) => doc.components[0].configFiles.push({ path: "/etc/alerts.yaml", content: "summary: {{ $labels.instance }} {{ .Values.x }} {{ ruoyi-admin.url }}" }));
            const { error, registered } = await attempt({
                ...istioStack(),
                ...apps({ spec }),
                "pluggable-mesh:observability": JSON.stringify({ enabled: true }),
                "pluggable-mesh:kialiSigningKey": FAKE_TOKEN.slice(0, 32),
            });
            assert.equal(error, undefined);
            assert.ok(registered > 50, `${registered} resources`);
        });
    });

    describe("object limits backstop", () => {
        it("every object RuoYi renders to, in every mode, is inside the API server's limits", () => {
            for (const mode of ["native", "envoy", "istio", "linkerd"]) {
                const stack = loadStack({ ...istioStack(), "pluggable-mesh:mode": mode, "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing" }) }, { projectRoot: PROJECT_ROOT });
                const objects = renderApp(stack.apps[0]!, stack.platform).objects;
                assert.ok(objects.length > 10);
                assert.deepEqual(objects.flatMap(({ manifest }) => checkManifestLimits(manifest)), [], mode);
            }
        });

        it("names each limit an object breaks", () => {
            const long = "a".repeat(64);
            assert.deepEqual(checkManifestLimits({ apiVersion: "v1", kind: "Service", metadata: { name: "9web", labels: { app: "a b" } } }), [
                `metadata.name: "9web" is not a DNS-1035 label; use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters`,
                `metadata.labels: "a b" is not a label value; use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters`,
            ]);
            assert.deepEqual(checkManifestLimits({ apiVersion: "v1", kind: "Namespace", metadata: { name: long, annotations: { note: "x".repeat(256 * 1024) } } }), [
                `metadata.name: "${"a".repeat(60)}…" (64 characters) is not a DNS-1123 label; use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
                "metadata.annotations: 262148 bytes; at most 262144 in all",
            ]);
            assert.deepEqual(checkManifestLimits({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "files", labels: { [`${long}/x`]: "v" } }, data: { a: "x".repeat(1024 * 1024) } }), [
                `metadata.labels: "${"a".repeat(60)}…" (66 characters) is not a label key; use [prefix/]name, the prefix a DNS name, the name at most 63 letters, digits, '-', '_' or '.'`,
                "data: 1048577 bytes; a ConfigMap holds at most 1048576",
            ]);
        });
    });

    describe("message text", () => {
        it("shows short values in full and clips long ones with their length, never splitting a character", () => {
            assert.equal(given("a".repeat(MAX_SHOWN_CHARACTERS)), JSON.stringify("a".repeat(60)));
            assert.equal(given("a".repeat(61)), `"${"a".repeat(60)}…" (61 characters)`);
            assert.equal(given(`${"a".repeat(59)}😀tail`), `"${"a".repeat(59)}😀…" (65 characters)`);
            assert.equal(given({ spec: "x".repeat(100) }), `{"spec":"${"x".repeat(51)}… (111 characters)`);
            assert.equal(given("line\nbreak"), '"line\\nbreak"');
            assert.equal(given(undefined), "nothing");
            assert.equal(given(10n), "10");
            assert.equal(secretGiven(FAKE_TOKEN), "a secret value (not shown)");
        });
    });
});
