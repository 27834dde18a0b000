import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { openMockStack, type MockStack } from "../mocks/mockEngine";
import { validateManifest } from "./support/schemas";

type ControlPlaneModule = typeof import("../components/istio/controlPlane");
type SupportModule = typeof import("../components/istio/support");

const CHART = "kubernetes:helm.sh/v4:Chart";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const COMPONENT = "pluggable-mesh:istio:IstioControlPlane";
/** What the policy pack asks of istiod and the gateway pods (docs/policy.md), set through chart values. */
const ISTIOD_RESOURCES = { requests: { cpu: "500m", memory: "2048Mi" }, limits: { memory: "4096Mi" } };
const GATEWAY_POD_SECURITY = { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }], seccompProfile: { type: "RuntimeDefault" } };

// The modules under test are loaded with require() after openMockStack(): a static import would
// create their resources' runtime before the mocks exist.
let mocks: MockStack;
let cp: ControlPlaneModule;
let support: SupportModule;

/** A folder laid out like the istio.io/istio Go module's manifests/charts (just the Chart.yaml files). */
function moduleLayoutCharts(): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "istio-charts-"));
    for (const chart of ["base", "istio-control/istio-discovery", "gateway"]) {
        fs.mkdirSync(path.join(root, chart), { recursive: true });
        fs.writeFileSync(path.join(root, chart, "Chart.yaml"), "apiVersion: v2\nname: placeholder\nversion: 1.0.0\n");
    }
    return root;
}

describe("Istio support matrix", () => {
    before(() => {
        support = require("../components/istio/support") as SupportModule;
    });

    it("covers Istio 1.26 to 1.30 with the upstream Kubernetes ranges", () => {
        const ranges = Object.fromEntries(
            Object.entries(support.ISTIO_SUPPORT).map(([minor, entry]) => [minor, support.supportedRange(entry.kubernetes)]),
        );
        assert.deepEqual(ranges, {
            "1.26": "1.29-1.33",
            "1.27": "1.29-1.33",
            "1.28": "1.30-1.34",
            "1.29": "1.31-1.35",
            "1.30": "1.32-1.36",
        });
    });

    it("has a default version that is a 1.30 patch inside the matrix", () => {
        assert.equal(support.DEFAULT_ISTIO_VERSION, "1.30.5");
        assert.equal(support.istioMinor(support.DEFAULT_ISTIO_VERSION), "1.30");
    });

    it("accepts supported pairs, whatever form the Kubernetes version takes", () => {
        for (const kubernetes of ["1.32", "1.36", "v1.33.2", "1.34.1-eks-1", "1.35.0+k3s1"]) {
            assert.equal(support.checkIstioSupport("1.30.1", kubernetes), undefined, kubernetes);
        }
    });

    it("names both versions and the supported range for an unsupported cluster", () => {
        assert.equal(
            support.checkIstioSupport("1.30.1", "1.31"),
            "Istio 1.30.1 supports Kubernetes 1.32-1.36; the cluster is declared as 1.31",
        );
        assert.equal(
            support.checkIstioSupport("1.26.3", "v1.34.0"),
            "Istio 1.26.3 supports Kubernetes 1.29-1.33; the cluster is declared as 1.34",
        );
    });

    it("lists the known minors for an unknown Istio minor", () => {
        assert.equal(
            support.checkIstioSupport("1.11.4", "1.22"),
            "Istio 1.11.4 is not in the support matrix (known minors: 1.26, 1.27, 1.28, 1.29, 1.30); use one of them, or add 1.11 to components/istio/support.ts from istio.io's supported-releases table",
        );
    });

    it("rejects text that is not a version", () => {
        assert.equal(
            support.checkIstioSupport("latest", "1.33"),
            '"latest" is not an Istio release version; use major.minor.patch, e.g. 1.30.5',
        );
        assert.equal(
            support.checkIstioSupport("1.30.1", "one-thirty"),
            '"one-thirty" is not a Kubernetes version; use major.minor, e.g. 1.36',
        );
    });
});

describe("IstioControlPlane", () => {
    before(async () => {
        mocks = await openMockStack();
        cp = require("../components/istio/controlPlane") as ControlPlaneModule;
        support = require("../components/istio/support") as SupportModule;
    });

    describe("with defaults", () => {
        let plane: InstanceType<ControlPlaneModule["IstioControlPlane"]>;
        before(async () => {
            plane = new cp.IstioControlPlane("mesh");
            await mocks.settle();
        });

        it("registers the component, its namespace and two charts, nothing else", () => {
            assert.deepEqual(
                mocks.named("mesh").map((resource) => `${resource.type}::${resource.name}`),
                [`${COMPONENT}::mesh`, `${NAMESPACE}::mesh-namespace`, `${CHART}::mesh-base`, `${CHART}::mesh-istiod`],
            );
            const children = mocks.childrenNamed("mesh");
            assert.equal(children.length, 3);
            for (const resource of children) {
                assert.equal(resource.parent, mocks.find(COMPONENT, "mesh").urn, `${resource.name} is parented to the component`);
            }
        });

        it("creates istio-system and validates it against the Kubernetes schema", async () => {
            const namespace = mocks.find(NAMESPACE, "mesh-namespace");
            assert.deepEqual(namespace.inputs, { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } });
            await validateManifest(namespace.inputs as { apiVersion: string; kind: string });
        });

        it("installs base from the Istio repository after the namespace", () => {
            const namespace = mocks.find(NAMESPACE, "mesh-namespace");
            const base = mocks.find(CHART, "mesh-base");
            assert.deepEqual(base.inputs, {
                chart: "base",
                version: "1.30.5",
                repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
                name: "istio-base",
                namespace: "istio-system",
                values: {
                    defaultRevision: "default",
                    base: { validationFailurePolicy: "Fail" },
                    global: { istioNamespace: "istio-system" },
                },
            });
            assert.deepEqual(base.dependencies, [namespace.urn]);
        });

        it("installs istiod after base with the mesh config and Fail validation", () => {
            const base = mocks.find(CHART, "mesh-base");
            const istiod = mocks.find(CHART, "mesh-istiod");
            assert.deepEqual(istiod.inputs, {
                chart: "istiod",
                version: "1.30.5",
                repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" },
                name: "istiod",
                namespace: "istio-system",
                values: {
                    global: {
                        istioNamespace: "istio-system",
                        proxy: {
                            resources: {
                                requests: { cpu: "100m", memory: "128Mi" },
                                limits: { cpu: "2000m", memory: "1024Mi" },
                            },
                        },
                    },
                    meshConfig: {
                        trustDomain: "cluster.local",
                        accessLogFile: "",
                        outboundTrafficPolicy: { mode: "ALLOW_ANY" },
                        defaultConfig: { holdApplicationUntilProxyStarts: true },
                    },
                    base: { validationFailurePolicy: "Fail" },
                    resources: ISTIOD_RESOURCES,
                    seccompProfile: { type: "RuntimeDefault" },
                },
            });
            assert.deepEqual(istiod.dependencies, [base.urn]);
        });

        it("registers the CRD-retaining transform on every chart", () => {
            assert.equal(mocks.find(CHART, "mesh-base").transforms, 1);
            assert.equal(mocks.find(CHART, "mesh-istiod").transforms, 1);
        });

        it("exposes plain outputs and the istiod chart as the readiness handle", async () => {
            assert.equal(plane.namespace, "istio-system");
            assert.equal(plane.version, "1.30.5");
            assert.equal(plane.revision, undefined);
            assert.deepEqual(plane.namespaceInjectionLabels, { "istio-injection": "enabled" });
            assert.deepEqual(plane.podInjectionLabels, { "sidecar.istio.io/inject": "true" });
            assert.deepEqual(plane.gateway, {
                enabled: false,
                namespace: "istio-system",
                name: "istio-ingressgateway",
                selectorLabels: { app: "istio-ingressgateway", istio: "ingressgateway" },
                serviceAccount: "istio-ingressgateway",
                principal: "cluster.local/ns/istio-system/sa/istio-ingressgateway",
                serviceHost: "istio-ingressgateway.istio-system.svc.cluster.local",
            });
            assert.equal(mocks.urnOf(plane.ready), mocks.find(CHART, "mesh-istiod").urn);
        });
    });

    describe("with a revision, a gateway and local charts", () => {
        let plane: InstanceType<ControlPlaneModule["IstioControlPlane"]>;
        let chartsDir: string;
        before(async () => {
            chartsDir = moduleLayoutCharts();
            plane = new cp.IstioControlPlane("canary", {
                namespace: "mesh-system",
                version: "1.29.6",
                revision: "1-29-6",
                localChartsDir: chartsDir,
                meshConfig: { accessLogs: true, outboundTrafficPolicy: "REGISTRY_ONLY", holdApplicationUntilProxyStarts: false },
                proxyResources: { requests: { cpu: "50m" }, limits: { memory: "512Mi" } },
                gateway: { enabled: true, serviceType: "NodePort" },
                kubernetesVersion: "1.33",
            });
            await mocks.settle();
        });

        it("uses the module layout's chart folders without a version constraint", () => {
            assert.equal(mocks.find(CHART, "canary-base").inputs.chart, path.join(chartsDir, "base"));
            assert.equal(mocks.find(CHART, "canary-istiod").inputs.chart, path.join(chartsDir, "istio-control", "istio-discovery"));
            assert.equal(mocks.find(CHART, "canary-gateway").inputs.chart, path.join(chartsDir, "gateway"));
            for (const chart of ["canary-base", "canary-istiod", "canary-gateway"]) {
                assert.equal(mocks.find(CHART, chart).inputs.version, undefined, chart);
                assert.equal(mocks.find(CHART, chart).inputs.repositoryOpts, undefined, chart);
            }
        });

        it("points base's default validator at the revision", () => {
            assert.deepEqual(mocks.find(CHART, "canary-base").inputs.values, {
                defaultRevision: "1-29-6",
                base: { validationFailurePolicy: "Fail" },
                global: { istioNamespace: "mesh-system" },
            });
        });

        it("sets istiod's revision, release hub and tag, and the mesh config", () => {
            assert.deepEqual(mocks.find(CHART, "canary-istiod").inputs.values, {
                global: {
                    istioNamespace: "mesh-system",
                    proxy: {
                        resources: {
                            requests: { cpu: "50m", memory: "128Mi" },
                            limits: { cpu: "2000m", memory: "512Mi" },
                        },
                    },
                    hub: "docker.io/istio",
                    tag: "1.29.6",
                },
                meshConfig: {
                    trustDomain: "cluster.local",
                    accessLogFile: "/dev/stdout",
                    outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
                    defaultConfig: { holdApplicationUntilProxyStarts: false },
                },
                base: { validationFailurePolicy: "Fail" },
                resources: ISTIOD_RESOURCES,
                seccompProfile: { type: "RuntimeDefault" },
                revision: "1-29-6",
            });
        });

        it("installs the gateway after istiod, with a fixed name and the revision", () => {
            const gateway = mocks.find(CHART, "canary-gateway");
            assert.deepEqual(gateway.inputs, {
                chart: path.join(chartsDir, "gateway"),
                name: "istio-ingressgateway",
                namespace: "mesh-system",
                values: { name: "istio-ingressgateway", service: { type: "NodePort" }, securityContext: GATEWAY_POD_SECURITY, revision: "1-29-6" },
            });
            assert.deepEqual(gateway.dependencies, [mocks.find(CHART, "canary-istiod").urn]);
            assert.deepEqual(mocks.find(CHART, "canary-istiod").dependencies, [mocks.find(CHART, "canary-base").urn]);
        });

        it("switches injection labels to the revision and describes the gateway", () => {
            assert.equal(plane.revision, "1-29-6");
            assert.deepEqual(plane.namespaceInjectionLabels, { "istio.io/rev": "1-29-6" });
            assert.deepEqual(plane.podInjectionLabels, { "istio.io/rev": "1-29-6" });
            assert.equal(plane.gateway.enabled, true);
            assert.equal(plane.gateway.namespace, "mesh-system");
            assert.deepEqual(plane.gateway.selectorLabels, { app: "istio-ingressgateway", istio: "ingressgateway" });
            assert.equal(plane.gateway.principal, "cluster.local/ns/mesh-system/sa/istio-ingressgateway");
        });
    });

    it("accepts the release layout (istiod/) of a local charts folder", () => {
        const root = "/charts";
        const present = new Set([`${root}/base/Chart.yaml`, `${root}/istiod/Chart.yaml`]);
        const { paths, missing } = cp.resolveLocalCharts(root, (file) => present.has(file));
        assert.deepEqual(paths, { base: "/charts/base", istiod: "/charts/istiod", gateway: "/charts/gateway" });
        assert.deepEqual(missing, ["gateway/"]);
    });

    it("adopts an existing namespace instead of creating it", async () => {
        new cp.IstioControlPlane("adopt", { namespace: "istio-system", createNamespace: false });
        await mocks.settle();
        assert.deepEqual(
            mocks.named("adopt").map((resource) => `${resource.type}::${resource.name}`),
            [`${COMPONENT}::adopt`, `${CHART}::adopt-base`, `${CHART}::adopt-istiod`],
        );
        assert.deepEqual(mocks.find(CHART, "adopt-base").dependencies, []);
    });

    it("uses a mirror repository for every chart", async () => {
        new cp.IstioControlPlane("mirror", { repository: "https://charts.example.com/istio", gateway: { enabled: true } });
        await mocks.settle();
        for (const chart of ["mirror-base", "mirror-istiod", "mirror-gateway"]) {
            assert.deepEqual(mocks.find(CHART, chart).inputs.repositoryOpts, { repo: "https://charts.example.com/istio" }, chart);
        }
        assert.deepEqual(mocks.find(CHART, "mirror-gateway").inputs.values, {
            name: "istio-ingressgateway",
            service: { type: "LoadBalancer", annotations: { "pluggable-mesh.io/exposure": "pluggable-mesh:istio.gateway (enabled, serviceType LoadBalancer)" } },
            securityContext: GATEWAY_POD_SECURITY,
        });
    });

    it("refuses bad arguments with every problem listed, before registering anything", async () => {
        const before = mocks.resources.length;
        assert.throws(
            () =>
                new cp.IstioControlPlane("broken", {
                    namespace: "Istio_System",
                    version: "1.30",
                    revision: "Canary",
                    repository: "https://charts.example.com/istio",
                    localChartsDir: "/nonexistent/charts",
                }),
            (error: Error) => {
                assert.equal(
                    error.message,
                    [
                        "invalid configuration (5 problems):",
                        `broken.namespace: "Istio_System" is not a DNS-1123 label; use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
                        `broken.version: "1.30" is not an Istio release version; use major.minor.patch, e.g. "1.30.5"`,
                        `broken.revision: "Canary" is not a revision name; use lowercase letters, digits and '-' (e.g. "1-30-5"), at most 56 characters`,
                        `broken.localChartsDir: set together with repository "https://charts.example.com/istio"; choose one chart source`,
                        `broken.localChartsDir: has no chart (Chart.yaml) in base/, istiod/ (or istio-control/istio-discovery/)`,
                    ].join("\n"),
                );
                assert.ok(error instanceof pulumi.RunError);
                return true;
            },
        );
        await mocks.settle();
        assert.deepEqual(mocks.resources.slice(before).map((resource) => resource.name), []);
    });

    describe("with a webhook endpoint outside the cluster's pod network", () => {
        const caBundle = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");
        before(async () => {
            new cp.IstioControlPlane("external", { webhookEndpoint: { url: "https://127.0.0.1:15017", caBundle } });
            await mocks.settle();
        });

        it("points base's validator at /validate with the CA bundle", () => {
            assert.deepEqual(mocks.find(CHART, "external-base").inputs.values.base, {
                validationFailurePolicy: "Fail",
                validationURL: "https://127.0.0.1:15017/validate",
                validationCABundle: caBundle,
            });
        });

        it("points istiod's validator and injector at the endpoint, keeping istiod installed", () => {
            const values = mocks.find(CHART, "external-istiod").inputs.values;
            assert.deepEqual(values.base, { validationFailurePolicy: "Fail", validationURL: "https://127.0.0.1:15017/validate", validationCABundle: caBundle });
            assert.deepEqual(values.istiodRemote, { injectionURL: "https://127.0.0.1:15017/inject", injectionCABundle: caBundle });
        });

        it("refuses a URL with a path, a bundle that is not base64 PEM, and Ignore", () => {
            assert.throws(
                () =>
                    new cp.IstioControlPlane("bad-endpoint", {
                        webhookEndpoint: { url: "http://istiod:15017/inject", caBundle: "not a certificate at all, really" },
                        validationFailurePolicy: "Ignore",
                    }),
                {
                    message: [
                        "invalid configuration (3 problems):",
                        `bad-endpoint.webhookEndpoint.url: "http://istiod:15017/inject" is not a base URL of istiod's webhook server; use https://host:port with no path, e.g. "https://istiod.example.com:15017"`,
                        'bad-endpoint.webhookEndpoint.caBundle: "not a certificate at all"... is not base64 of PEM certificates; use the output of `base64 -w0 ca.crt`',
                        `bad-endpoint.validationFailurePolicy: "Ignore" cannot be combined with webhookEndpoint, whose validation webhook always fails closed; use "Fail"`,
                    ].join("\n"),
                },
            );
        });
    });

    it("refuses an Istio release that does not support the declared cluster", () => {
        assert.throws(
            () => new cp.IstioControlPlane("old-cluster", { version: "1.30.1", kubernetesVersion: "1.31" }),
            {
                message: "invalid configuration (1 problem):\nold-cluster.version: Istio 1.30.1 supports Kubernetes 1.32-1.36; the cluster is declared as 1.31",
            },
        );
    });

    it("retains CustomResourceDefinitions on delete and leaves other children alone", () => {
        const transform = cp.retainCustomResourceDefinitions;
        const crd = transform({
            custom: true,
            type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
            name: "mesh-base:virtualservices.networking.istio.io",
            props: { spec: {} },
            opts: { protect: false },
        });
        assert.deepEqual(crd, { props: { spec: {} }, opts: { protect: false, retainOnDelete: true } });
        const deployment = transform({
            custom: true,
            type: "kubernetes:apps/v1:Deployment",
            name: "mesh-istiod:istio-system/istiod",
            props: {},
            opts: {},
        });
        assert.equal(deployment, undefined);
    });
});
