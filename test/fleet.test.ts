import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { ConfigError } from "../components/resources/errors";
import { FLEET_SCHEMA_VERSION, type PlatformData } from "../components/fleet";
import { MODE_NAMES, type ModeName } from "../components/model";
import { PROJECT_ROOT, runWithMocks, STACK_REFERENCE_TYPE, type MockOptions, type RegisteredResource } from "../mocks/mockEngine";
import { pluggableMesh, type StackOutputs } from "../stacks/program";
import { attempt, expectedMessage, SpecFolder } from "./hostileCases";
import { RUOYI_SECRETS, RUOYI_SPEC } from "./support/meshRuns";

/**
 * A fleet under the mock engine: a platform stack's `platform` output, app stacks that read it and
 * each other's `peers` through StackReferences (the tests give the referenced stacks' outputs), and
 * the rules across stacks. Every refusal is an exact message with nothing registered but the reads.
 */

type StackOutputsMap = NonNullable<MockOptions["stackOutputs"]>;

/** Runs the program as stack `stack`; warnings logged through pulumi.log.warn are collected. */
async function runStack(stack: string, config: Record<string, string>, stackOutputs: StackOutputsMap = {}): Promise<{ resources: RegisteredResource[]; outputs: StackOutputs; warnings: string[] }> {
    const warnings: string[] = [];
    const original = pulumi.log.warn;
    (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string) => void warnings.push(message);
    try {
        const run = await runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack, config, stackOutputs });
        return { resources: run.resources, outputs: run.outputs, warnings };
    } finally {
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = original;
    }
}

/** What another stack reads of a stack's outputs: plain JSON, as the engine's state keeps it. */
function exported(outputs: StackOutputs): Record<string, unknown> {
    return JSON.parse(JSON.stringify({ platform: outputs.platform, peers: outputs.peers })) as Record<string, unknown>;
}

/** A platform that offers every mode what it needs: Istio installed with its gateway, an existing Linkerd, egress policies too. */
const PLATFORM_CONFIG: Record<string, string> = {
    "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", gateway: { enabled: true } }),
    "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing" }),
    "pluggable-mesh:networkPolicies": "ingress+egress",
};

const apps = (...specs: string[]) => ({ "pluggable-mesh:apps": JSON.stringify(specs.map((spec) => ({ spec }))) });
const appStack = (platformStack: string, peerStacks: string[], mode: ModeName, ...specs: string[]): Record<string, string> => ({
    "pluggable-mesh:platformStack": platformStack,
    ...(peerStacks.length > 0 ? { "pluggable-mesh:peerStacks": JSON.stringify(peerStacks) } : {}),
    "pluggable-mesh:mode": mode,
    ...apps(...specs),
});

/** The Kubernetes objects of one app (its component's children), by type and name, inputs as the provider gets them. */
function objectsOf(resources: readonly RegisteredResource[], app: string): Record<string, unknown> {
    const children = resources.filter((resource) => resource.custom && resource.parent.endsWith(`pluggable-mesh:app:GovernedApp::${app}`));
    return Object.fromEntries(children.map((resource) => [`${resource.type} ${resource.name}`, resource.inputs]));
}

describe("a fleet: a platform stack and app stacks joined by StackReferences", function () {
    let specs: SpecFolder;
    let platformOutputs: Record<string, unknown>;
    let catalog: string;
    let shopfront: string;

    before(async function () {
        specs = new SpecFolder("fleet-");
        // A caller and a callee with everything a peer carries: ports of two protocols, a traffic policy, versions with a split.
        catalog = specs.write(
            "catalog.yaml",
            stringify({
                name: "catalog",
                traffic: { timeout: "4s" },
                components: [
                    {
                        name: "api",
                        versions: [
                            { name: "v1", image: "ghcr.io/acme/catalog:1.0.0", env: { FLAVOUR: "secret-sauce-v1" } },
                            { name: "v2", image: "ghcr.io/acme/catalog:2.0.0" },
                        ],
                        ports: [{ name: "http", port: 8080 }, { name: "grpc", port: 9090, protocol: "grpc" }],
                        traffic: { split: { v1: 90, v2: 10 }, retries: { attempts: 1 } },
                        env: { API_TOKEN: "not-for-peers-0123" },
                        configFiles: [{ path: "/etc/catalog/app.conf", content: "password=not-for-peers-4567\n" }],
                    },
                ],
            }),
        );
        shopfront = specs.write(
            "shopfront.yaml",
            stringify({
                name: "shopfront",
                components: [{ name: "web", image: "ghcr.io/acme/web:1.0.0", ports: [{ name: "http", port: 80 }], dependsOn: ["catalog/api:http", "cache"] }, { name: "cache", image: "redis:7.4.1", ports: [{ name: "redis", port: 6379, protocol: "tcp" }] }],
            }),
        );
        platformOutputs = exported((await runStack("plat", PLATFORM_CONFIG)).outputs);
    });

    after(function () {
        specs.remove();
    });

    describe("the platform stack", function () {
        it("exports its platform as plain, versioned data: what the modes read, no control-plane resource", function () {
            const platform = platformOutputs.platform as PlatformData;
            assert.equal(platform.schema, FLEET_SCHEMA_VERSION);
            assert.deepEqual(platform, {
                schema: 1,
                production: false,
                clusterDomain: "cluster.local",
                trustDomain: "cluster.local",
                ingressController: true,
                envoyImage: platform.envoyImage,
                networkPolicies: "ingress+egress",
                podSecurity: { enforce: "auto", warn: "restricted", audit: "restricted" },
                istio: {
                    namespace: "istio-system",
                    trustDomain: "cluster.local",
                    podInjectionLabels: { "sidecar.istio.io/inject": "true" },
                    namespaceInjectionLabels: { "istio-injection": "enabled" },
                    gateway: { namespace: "istio-system", selector: { app: "istio-ingressgateway", istio: "ingressgateway" }, principal: "cluster.local/ns/istio-system/sa/istio-ingressgateway" },
                },
                linkerd: { namespace: "linkerd", proxyAwait: true },
            });
            assert.match(platform.envoyImage, /^envoyproxy\/envoy:/);
            // No apps, no peers.
            assert.equal(platformOutputs.peers, undefined);
        });

        it("a production platform writes its refusals of plaintext callers into what it exports", async function () {
            const { outputs } = await runStack("plat-prod", { ...PLATFORM_CONFIG, "pluggable-mesh:production": "true" });
            const platform = outputs.platform!;
            assert.equal(platform.production, true);
            assert.equal(platform.istio!.refusePlaintextCallers, true);
            assert.deepEqual(platform.linkerd, { namespace: "linkerd", proxyAwait: true, defaultInboundPolicy: "deny", refusePlaintextCallers: true });
        });
    });

    describe("an app stack", function () {
        it("reads its platform before registering anything, and its apps use it (the platform's injection labels)", async function () {
            const { resources, outputs } = await runStack("apps", { ...appStack("plat", [], "istio", RUOYI_SPEC), ...RUOYI_SECRETS }, { plat: platformOutputs });
            assert.deepEqual(resources[0], { ...resources[0], type: STACK_REFERENCE_TYPE, name: "plat" });
            assert.equal(resources.filter((resource) => resource.type === STACK_REFERENCE_TYPE).length, 1);
            // Nothing of the platform is registered here.
            assert.deepEqual(resources.filter((resource) => /Istio|Observability|helm/.test(resource.type)), []);
            const namespace = resources.find((resource) => resource.type === "kubernetes:core/v1:Namespace")!;
            assert.equal(namespace.inputs.metadata.labels["istio-injection"], "enabled");
            const deployment = resources.find((resource) => resource.type === "kubernetes:apps/v1:Deployment")!;
            assert.equal(deployment.inputs.spec.template.metadata.labels["sidecar.istio.io/inject"], "true");
            // An app stack exports its apps as peers, not a platform.
            assert.equal(outputs.platform, undefined);
            assert.deepEqual(
                outputs.peers!.apps.map((app) => [app.spec.name, app.mode, app.spec.mtls]),
                [["ruoyi", "istio", "PERMISSIVE"]],
            );
        });

        it("a peer view carries no environment value, file content or secret reference", async function () {
            const { outputs } = await runStack("callee", appStack("plat", [], "istio", catalog), { plat: platformOutputs });
            const view = outputs.peers!.apps[0]!;
            assert.deepEqual(view, {
                mode: "istio",
                spec: {
                    name: "catalog",
                    namespace: "catalog",
                    createNamespace: true,
                    mtls: "PERMISSIVE",
                    traffic: { timeout: "4s" },
                    components: [
                        {
                            name: "api",
                            ports: [{ name: "http", port: 8080 }, { name: "grpc", port: 9090, protocol: "grpc" }],
                            dependsOn: [],
                            traffic: { split: { v1: 90, v2: 10 }, retries: { attempts: 1 } },
                            versions: [
                                { name: "v1", image: "ghcr.io/acme/catalog:1.0.0" },
                                { name: "v2", image: "ghcr.io/acme/catalog:2.0.0" },
                            ],
                        },
                    ],
                },
            });
            const ruoyi = (await runStack("ruoyi", { ...appStack("plat", [], "istio", RUOYI_SPEC), ...RUOYI_SECRETS }, { plat: platformOutputs })).outputs.peers!;
            const text = JSON.stringify(ruoyi);
            for (const leaked of ["not-for-peers", "secret-sauce", "mysqlRootPassword", "env", "configFiles", "secretFiles", "command", "storage", "readiness"]) assert.ok(!text.includes(leaked), leaked);
            // Its own components by app name, its externals (outside every stack) left out.
            assert.deepEqual(
                ruoyi.apps[0]!.spec.components.map((component) => [component.name, component.dependsOn]),
                [
                    ["ruoyi-ui", ["ruoyi/ruoyi-admin"]],
                    ["ruoyi-admin", ["ruoyi/mysql", "ruoyi/redis"]],
                    ["mysql", []],
                    ["redis", []],
                ],
            );
        });
    });

    for (const mode of MODE_NAMES) {
        describe(`cross-stack peers in mode ${mode}: the same addresses and authorization as in one stack`, function () {
            let oneStack: RegisteredResource[];
            before(async function () {
                oneStack = (await runStack("together", { ...PLATFORM_CONFIG, "pluggable-mesh:mode": mode, ...apps(catalog, shopfront) })).resources;
            });

            it("callee first (caller not deployed: a warning, nothing admitted), caller, callee again: identical objects", async function () {
                const callee = appStack("plat", ["caller"], mode, catalog);
                const caller = appStack("plat", ["callee"], mode, shopfront);
                // 1. The callee, its caller's stack not deployed yet: fail closed.
                const first = await runStack("callee", callee, { plat: platformOutputs, caller: {} });
                assert.deepEqual(first.warnings.filter((warning) => warning.startsWith("pluggable-mesh:")), [
                    'pluggable-mesh:peerStacks[0]: stack "caller" is not deployed yet (it has no output "peers"): no app of it is admitted as a caller here until it is deployed and this stack is updated again',
                ]);
                assert.ok(!JSON.stringify(objectsOf(first.resources, "catalog")).includes("shopfront"), "nothing of the caller is admitted yet");
                assert.ok(JSON.stringify(objectsOf(oneStack, "catalog")).includes("shopfront"), "negative control: in one stack the callee names its caller");
                assert.ok(Object.keys(objectsOf(oneStack, "catalog")).length >= 6 && JSON.stringify(objectsOf(oneStack, "shopfront")).includes("API_HTTP_HOST"), "the comparison below compares real objects");
                // 2. The caller reads the callee's peers: its addresses are those of one stack.
                const second = await runStack("caller", caller, { plat: platformOutputs, callee: exported(first.outputs) });
                assert.deepEqual(objectsOf(second.resources, "shopfront"), objectsOf(oneStack, "shopfront"));
                // 3. The callee again, reading the caller's peers: its policies admit the caller as in one stack.
                const third = await runStack("callee", callee, { plat: platformOutputs, caller: exported(second.outputs) });
                assert.deepEqual(third.warnings.filter((warning) => warning.startsWith("pluggable-mesh:")), []);
                assert.deepEqual(objectsOf(third.resources, "catalog"), objectsOf(oneStack, "catalog"));
                // And the callee's peers did not change between its two runs: no third pass is needed.
                assert.deepEqual(exported(third.outputs).peers, exported(first.outputs).peers);
            });
        });
    }

    describe("the offline render of the example set", function () {
        it("renders fleet-ruoyi on the platform of fleet, rendered offline first (no backend)", async function () {
            const { renderStack } = require("../cli/render") as typeof import("../cli/render");
            const result = await renderStack("fleet-ruoyi");
            assert.deepEqual(result.index.filter((resource) => resource.type === STACK_REFERENCE_TYPE).map((resource) => resource.name), ["fleet"]);
            assert.deepEqual(result.charts, [], "the platform's charts are the platform stack's");
            const namespace = result.objects.find((object: any) => object.kind === "Namespace" && object.metadata.name === "ruoyi") as any;
            assert.equal(namespace.metadata.labels["istio-injection"], "enabled");
            const workloads = result.objects.filter((object: any) => object.kind === "Deployment" || object.kind === "StatefulSet") as any[];
            assert.equal(workloads.length, 4);
            for (const workload of workloads) assert.equal(workload.spec.template.metadata.labels["sidecar.istio.io/inject"], "true");
        });

        it("a stack being rendered counts as not deployed for the stacks it names (mutual peers end)", async function () {
            const { offlineStackOutputs } = require("../cli/render") as typeof import("../cli/render");
            const outputs = await offlineStackOutputs({ "pluggable-mesh:platformStack": "fleet", "pluggable-mesh:peerStacks": JSON.stringify(["fleet-bookinfo", "missing"]) }, new Set(["fleet-bookinfo"]));
            assert.deepEqual(Object.keys(outputs), ["fleet", "fleet-bookinfo"]);
            assert.deepEqual(outputs["fleet-bookinfo"], {});
            assert.equal((outputs.fleet!.platform as PlatformData).istio!.namespace, "istio-system");
        });
    });

    describe("refusals", function () {
        const reads = (resources: number, registered: number) => assert.equal(registered, resources);

        it("a platform stack that exists but is not deployed: deploy it first", async function () {
            const { error, registered } = await attempt({ ...appStack("plat", [], "istio", RUOYI_SPEC), ...RUOYI_SECRETS }, "apps", { plat: {} });
            assert.ok(error instanceof ConfigError);
            assert.equal(error.message, expectedMessage(['pluggable-mesh:platformStack: stack "plat" has no output "platform" (it is not deployed, or not a platform stack); deploy stack plat first: npm run up -- --stack plat']));
            reads(1, registered);
        });

        it("a platform stack that does not exist fails the run as the engine fails it", async function () {
            await assert.rejects(runStack("apps", { ...appStack("plat", [], "istio", RUOYI_SPEC), ...RUOYI_SECRETS }, {}), /unknown stack "plat"/);
        });

        const MALFORMED: { name: string; change: (platform: Record<string, any>) => unknown; problem: string }[] = [
            { name: "an unknown schema version", change: (platform) => ({ ...platform, schema: 2 }), problem: 'stack "plat": output platform.schema: expected 1 (the version this program reads), given 2; update the program of one of the two stacks' },
            {
                name: "a namespace that is not a DNS label",
                change: (platform) => ({ ...platform, istio: { ...platform.istio, namespace: "Istio System" } }),
                problem: 'stack "plat": output platform.istio.namespace: "Istio System" is not a DNS-1123 label; use lowercase letters, digits and \'-\', starting and ending with a letter or digit, at most 63 characters',
            },
            {
                name: "an unknown field",
                change: (platform) => ({ ...platform, clusterDomian: "x" }),
                problem: 'stack "plat": output platform: unknown field "clusterDomian" (did you mean "clusterDomain"?); allowed fields: schema, production, clusterDomain, trustDomain, istio, linkerd, ingressClassName, ingressController, envoyImage, networkPolicies, prometheus, podSecurity',
            },
            { name: "not an object", change: () => "istio please", problem: 'stack "plat": output platform: expected a mapping, given "istio please"' },
            { name: "a missing field", change: ({ envoyImage: _envoyImage, ...platform }) => platform, problem: 'stack "plat": output platform.envoyImage: is required (expected string)' },
        ];
        for (const malformed of MALFORMED) {
            it(`a platform output with ${malformed.name}: one message naming the stack and the field`, async function () {
                const platform = malformed.change(structuredClone(platformOutputs.platform as Record<string, any>));
                const { error, registered } = await attempt({ ...appStack("plat", [], "istio", RUOYI_SPEC), ...RUOYI_SECRETS }, "apps", { plat: { platform } });
                assert.ok(error instanceof ConfigError, String(error));
                assert.equal(error.message, expectedMessage([`pluggable-mesh:platformStack: ${malformed.problem}`]));
                reads(1, registered);
            });
        }

        it("a mode the platform does not offer: the platform stack's key, said as that stack's", async function () {
            const { linkerd: _linkerd, ...platform } = platformOutputs.platform as Record<string, unknown>;
            const { error, registered } = await attempt(appStack("plat", [], "linkerd", catalog), "apps", { plat: { platform } });
            assert.ok(error instanceof ConfigError, String(error));
            assert.equal(
                error.message,
                expectedMessage([
                    'pluggable-mesh:platformStack: stack "plat" decides pluggable-mesh:linkerd.controlPlane, which this app stack may not set: app "catalog" uses mode linkerd, but the stack declares no Linkerd control plane; install Linkerd and set it to "existing"',
                ]),
            );
            reads(1, registered);
        });

        it("a malformed peers output (a spec field a peer view never has)", async function () {
            const { outputs } = await runStack("callee", appStack("plat", [], "istio", catalog), { plat: platformOutputs });
            const peers = structuredClone(outputs.peers!) as any;
            peers.apps[0].spec.components[0].env = { LEAKED: "x" };
            const { error, registered } = await attempt(appStack("plat", ["callee"], "istio", shopfront), "caller", { plat: platformOutputs, callee: { peers } });
            assert.ok(error instanceof ConfigError, String(error));
            assert.equal(error.message, expectedMessage(['pluggable-mesh:peerStacks[0]: stack "callee": output peers.apps[0].spec.components[0]: unknown field "env"; allowed fields: name, image, version, ports, traffic, expose, publish, securityExemption, dependsOn, versions, securityContext']));
            reads(2, registered);
        });

        it("a dependency on an app whose stack is not deployed: deploy it first", async function () {
            const { error, registered } = await attempt(appStack("plat", ["callee"], "istio", shopfront), "caller", { plat: platformOutputs, callee: {} });
            assert.ok(error instanceof ConfigError, String(error));
            assert.equal(
                error.message,
                expectedMessage([`${shopfront}: components[0].dependsOn[0]: "catalog/api:http" is in app "catalog": no deployed stack of pluggable-mesh:peerStacks exports it; not deployed yet: stack callee (npm run up -- --stack callee): deploy it first`]),
            );
            reads(2, registered);
        });

        it("a dependency on an app that no peer stack exports: add its stack", async function () {
            const { outputs } = await runStack("ruoyi", { ...appStack("plat", [], "istio", RUOYI_SPEC), ...RUOYI_SECRETS }, { plat: platformOutputs });
            const { error, registered } = await attempt(appStack("plat", ["ruoyi"], "istio", shopfront), "caller", { plat: platformOutputs, ruoyi: exported(outputs) });
            assert.ok(error instanceof ConfigError, String(error));
            assert.equal(
                error.message,
                expectedMessage([`${shopfront}: components[0].dependsOn[0]: "catalog/api:http" is in app "catalog": neither this stack nor a stack of pluggable-mesh:peerStacks (ruoyi: ruoyi) has it; add the stack that deploys it to pluggable-mesh:peerStacks`]),
            );
            reads(2, registered);
        });

        it("a peer stack that exports the app but not the component depended on: the model's own message", async function () {
            const { outputs } = await runStack("callee", appStack("plat", [], "istio", catalog), { plat: platformOutputs });
            const peers = structuredClone(outputs.peers!) as any;
            peers.apps[0].spec.components[0].name = "search";
            const { error, registered } = await attempt(appStack("plat", ["callee"], "istio", shopfront), "caller", { plat: platformOutputs, callee: { peers } });
            assert.ok(error instanceof ConfigError, String(error));
            assert.equal(error.message, expectedMessage([`${shopfront}: components[0].dependsOn[0]: "catalog/api:http" is not a component of app "catalog"; known: catalog/search`]));
            reads(2, registered);
        });
    });
});
