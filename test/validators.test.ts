/**
 * Validators no one here wrote, on every render: `istioctl analyze` (Istio's semantic checks),
 * `kube-score` (workload hygiene, with the waivers in validators/kube-score-ignore.yaml) and
 * `promtool check config`, on the dev, staging and prod stacks and on RuoYi in every mode.
 *
 * The tools come from ISTIOCTL, KUBE_SCORE and PROMTOOL or the tools/tools.sh cache. In CI
 * (`CI` set) a missing tool is built by tools/tools.sh, and a failed build fails the suite; on a
 * laptop without them the suite says how to get them and skips.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { readStackConfig } from "../engine/stackFile";
import {
    analyzeIstio,
    ensureTools,
    findTools,
    kubeScoreIgnoreArgs,
    parseIstioAnalyze,
    parseKubeScore,
    readKubeScoreIgnores,
    scoreWorkloads,
    validateRender,
    writeManifests,
    type ToolName,
    type ValidationReport,
} from "../cli/validate";
import { bookinfoConfig, FEATURES_SPEC, MODE_NAMES, RUOYI_SPEC, ruoyiConfig, workloadsConfig, type ModeName } from "./support/meshRuns";

const TOOLS: ToolName[] = ["istioctl", "kube-score", "promtool"];

/** Observability on, so Prometheus, Kiali and Kiali's gateway objects are validated in every mode too. */
const OBSERVABILITY = JSON.stringify({ enabled: true, kialiAuth: "token", kialiExposure: "gateway", kialiHost: "kiali.example.com" });

interface Case {
    label: string;
    stack: string;
    config: () => Record<string, string>;
    /** How many Prometheus configurations the render carries. */
    prometheusConfigs: number;
}

const CASES: Case[] = [
    { label: "stack dev", stack: "dev", config: () => readStackConfig("dev"), prometheusConfigs: 0 },
    { label: "stack staging", stack: "staging", config: () => readStackConfig("staging"), prometheusConfigs: 0 },
    { label: "stack prod", stack: "prod", config: () => readStackConfig("prod"), prometheusConfigs: 1 },
    ...MODE_NAMES.map(
        (mode: ModeName): Case => ({
            label: `RuoYi and the volumes-and-externals fixture in mode ${mode}`,
            stack: "test",
            config: () => ruoyiConfig(mode, { "pluggable-mesh:observability": OBSERVABILITY, "pluggable-mesh:apps": JSON.stringify([{ spec: RUOYI_SPEC }, { spec: FEATURES_SPEC }]) }),
            prometheusConfigs: 1,
        }),
    ),
    ...MODE_NAMES.map((mode: ModeName): Case => ({ label: `the workloads fixture in mode ${mode}`, stack: "test", config: () => workloadsConfig(mode), prometheusConfigs: 0 })),
    // The stacks render Bookinfo in native (dev), envoy (staging) and istio (prod); this is its fourth mode, with its HTTPRoute.
    { label: "Bookinfo in mode linkerd", stack: "test", config: () => bookinfoConfig("linkerd"), prometheusConfigs: 0 },
];

let tools: Record<ToolName, string> | undefined;

/** Finds the tools (CI: builds them); on a laptop without them, prints why and skips the calling block. */
function requireTools(context: Mocha.Context): Record<ToolName, string> {
    if (tools) return tools;
    if (process.env.CI) {
        // A build failure throws here, which fails the suite: CI must never pass by skipping.
        context.timeout(30 * 60_000);
        tools = ensureTools(TOOLS);
        return tools;
    }
    const found = findTools(TOOLS);
    const missing = TOOLS.filter((name) => !found[name]);
    if (missing.length > 0) {
        console.log(`      (skipped: ${missing.join(", ")} not found; \`bash tools/tools.sh ${missing.join(" ")}\` builds them into the tools cache, or set ISTIOCTL, KUBE_SCORE, PROMTOOL)`);
        context.skip();
    }
    tools = found as Record<ToolName, string>;
    return tools;
}

describe("validator output parsing (no tools needed)", () => {
    it("parses istioctl analyze messages into code, severity and resource", () => {
        const analysis = parseIstioAnalyze(
            [
                `Error [IST0101] (VirtualService ruoyi/ruoyi-ui /tmp/x/manifests.yaml:12) Referenced host+subset in destinationrule not found: "ruoyi-ui+v1"`,
                `Warning [IST0118] (Service ruoyi/redis) Port name redis (port: 6379, targetPort: redis) doesn't follow the naming convention of Istio port.`,
                `Info [IST0102] (Namespace default) The namespace is not enabled for Istio injection.`,
                "Skipped analyzers:",
                "\t service.PortNameAnalyzer",
                "\t virtualservice.DestinationHostAnalyzer",
                "Executed analyzers:",
                "\t virtualservice.DestinationRuleAnalyzer",
                "",
            ].join("\n"),
        );
        assert.deepEqual(analysis, {
            errors: 1,
            warnings: 1,
            infos: 1,
            messages: [
                { code: "IST0101", severity: "Error", resource: "VirtualService ruoyi/ruoyi-ui", message: `Referenced host+subset in destinationrule not found: "ruoyi-ui+v1"` },
                {
                    code: "IST0118",
                    severity: "Warning",
                    resource: "Service ruoyi/redis",
                    message: "Port name redis (port: 6379, targetPort: redis) doesn't follow the naming convention of Istio port.",
                },
                { code: "IST0102", severity: "Info", resource: "Namespace default", message: "The namespace is not enabled for Istio injection." },
            ],
            skippedAnalyzers: ["service.PortNameAnalyzer", "virtualservice.DestinationHostAnalyzer"],
        });
    });

    it("turns a kube-score report into findings and applies container-scoped waivers", () => {
        const report = [
            {
                type_meta: { kind: "StatefulSet" },
                object_meta: { name: "mysql", namespace: "ruoyi" },
                checks: [
                    { check: { id: "container-security-context-user-group-id" }, grade: 1, skipped: false, comments: [{ path: "mysql", summary: "Container has no configured security context" }] },
                    { check: { id: "container-security-context-user-group-id" }, grade: 1, skipped: false, comments: [{ path: "envoy", summary: "The container is running with a low user ID" }] },
                    { check: { id: "deployment-replicas" }, grade: 5, skipped: false, comments: [] },
                    { check: { id: "container-resources" }, grade: 10, skipped: false, comments: [] },
                    { check: { id: "pod-probes" }, grade: 0, skipped: true, comments: null },
                ],
            },
        ];
        const result = parseKubeScore(report, [{ check: "container-security-context-user-group-id", containers: ["mysql"], reason: "root image" }]);
        assert.deepEqual(result, {
            criticals: 1,
            warnings: 1,
            findings: [
                { check: "container-security-context-user-group-id", grade: "critical", object: "StatefulSet ruoyi/mysql", container: "envoy", summary: "The container is running with a low user ID" },
                { check: "deployment-replicas", grade: "warning", object: "StatefulSet ruoyi/mysql", container: "", summary: "" },
            ],
            waived: [{ check: "container-security-context-user-group-id", grade: "critical", object: "StatefulSet ruoyi/mysql", container: "mysql", summary: "Container has no configured security context" }],
        });
    });

    it("reads the checked-in kube-score ignore list: a check or flag and a one-line reason each", () => {
        const ignores = readKubeScoreIgnores();
        assert.ok(ignores.length > 0);
        for (const ignore of ignores) {
            assert.ok(ignore.reason.length > 20 && !ignore.reason.includes("\n"), `${ignore.check ?? ignore.flag}: reason ${JSON.stringify(ignore.reason)}`);
        }
        assert.deepEqual(kubeScoreIgnoreArgs([{ check: "a", reason: "r" }, { check: "b", containers: ["c"], reason: "r" }, { flag: "--ignore-x", reason: "r" }]), ["--ignore-test", "a", "--ignore-x"]);
    });
});

describe("the validators themselves (they catch what they should)", function () {
    let dir: string;
    before(function () {
        requireTools(this);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "validators-"));
    });
    after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

    it("every check the ignore list names is a kube-score check", () => {
        const list = spawnSync(tools!["kube-score"], ["list"], { encoding: "utf8" }).stdout;
        const ids = new Set(list.split("\n").map((line) => line.split(",")[0]));
        for (const ignore of readKubeScoreIgnores().filter((entry) => entry.check)) assert.ok(ids.has(ignore.check!), `${ignore.check} is not a kube-score check`);
    });

    it("istioctl analyze reports a route to a subset no DestinationRule defines (IST0101), in any namespace", () => {
        const file = writeManifests(
            [
                { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { "istio-injection": "enabled" } } },
                {
                    apiVersion: "networking.istio.io/v1",
                    kind: "VirtualService",
                    metadata: { name: "cart", namespace: "shop" },
                    spec: { hosts: ["cart"], http: [{ route: [{ destination: { host: "cart", subset: "v2" } }] }] },
                },
            ],
            path.join(dir, "broken-istio.yaml"),
        );
        const analysis = analyzeIstio([file], tools!.istioctl);
        assert.deepEqual(
            analysis.messages.filter((message) => message.severity === "Error").map((message) => `${message.code} ${message.resource}`),
            ["IST0101 VirtualService shop/cart"],
        );
    });

    it("istioctl analyze warns about a VirtualService host its Gateway does not serve (IST0132): 'no warnings' on our renders can fail", () => {
        const file = writeManifests(
            [
                { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
                {
                    apiVersion: "networking.istio.io/v1",
                    kind: "Gateway",
                    metadata: { name: "gw", namespace: "shop" },
                    spec: { selector: { istio: "ingressgateway" }, servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["a.example.com"] }] },
                },
                {
                    apiVersion: "networking.istio.io/v1",
                    kind: "VirtualService",
                    metadata: { name: "cart", namespace: "shop" },
                    spec: { hosts: ["b.example.com"], gateways: ["gw"], http: [{ route: [{ destination: { host: "cart" } }] }] },
                },
            ],
            path.join(dir, "warned-istio.yaml"),
        );
        const analysis = analyzeIstio([file], tools!.istioctl);
        assert.deepEqual(
            analysis.messages.map((message) => `${message.severity} ${message.code} ${message.resource}`),
            ["Warning IST0132 VirtualService shop/cart"],
        );
    });

    it("kube-score grades a container without resources critical", () => {
        const file = writeManifests(
            [
                {
                    apiVersion: "apps/v1",
                    kind: "Deployment",
                    metadata: { name: "bare", namespace: "shop" },
                    spec: {
                        replicas: 2,
                        selector: { matchLabels: { app: "bare" } },
                        template: { metadata: { labels: { app: "bare" } }, spec: { containers: [{ name: "bare", image: "nginx:1.27.3" }] } },
                    },
                },
            ],
            path.join(dir, "bare.yaml"),
        );
        const result = scoreWorkloads([file], { kubeScore: tools!["kube-score"] });
        assert.ok(
            result.findings.some((finding) => finding.check === "container-resources" && finding.grade === "critical" && finding.container === "bare"),
            JSON.stringify(result.findings),
        );
    });

    it("kube-score with nothing to grade (only a Namespace, as a platform stack renders offline) is an empty report, not an error", () => {
        const file = writeManifests([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } }], path.join(dir, "namespace.yaml"));
        // kube-score itself prints `null` here: the parser must not take it for a report.
        assert.equal(spawnSync(tools!["kube-score"], ["score", "--output-format", "json", file], { encoding: "utf8" }).stdout.trim(), "null");
        assert.deepEqual(scoreWorkloads([file], { kubeScore: tools!["kube-score"] }), { criticals: 0, warnings: 0, findings: [], waived: [] });
    });
});

describe("third-party validators on every render", () => {
    for (const testCase of CASES) {
        describe(testCase.label, function () {
            let report: ValidationReport;
            before(async function () {
                const found = requireTools(this);
                this.timeout(120_000);
                ({ report } = await validateRender(testCase.stack, testCase.config(), found));
            });

            it("istioctl analyze -A ran the analyzers that need only Istio objects (schemas, VirtualService → DestinationRule subsets and gateways)", () => {
                for (const analyzer of ["schema.ValidationAnalyzer.VirtualService", "schema.ValidationAnalyzer.AuthorizationPolicy", "virtualservice.DestinationRuleAnalyzer", "virtualservice.GatewayAnalyzer"]) {
                    assert.ok(!report.istio.skippedAnalyzers.includes(analyzer), `${analyzer} was skipped`);
                }
            });

            it("istioctl analyze -A: no errors", () => {
                assert.deepEqual(
                    report.istio.messages.filter((message) => message.severity === "Error"),
                    [],
                );
            });

            it("istioctl analyze -A: no warnings", () => {
                assert.deepEqual(
                    report.istio.messages.filter((message) => message.severity === "Warning"),
                    [],
                );
            });

            it("kube-score: no critical outside validators/kube-score-ignore.yaml", () => {
                assert.deepEqual(
                    report.kubeScore.findings.filter((finding) => finding.grade === "critical"),
                    [],
                );
            });

            it(`promtool check config passes (${testCase.prometheusConfigs} Prometheus configuration${testCase.prometheusConfigs === 1 ? "" : "s"})`, () => {
                assert.equal(report.prometheus.length, testCase.prometheusConfigs);
                for (const check of report.prometheus) assert.ok(check.ok, `${check.name}: ${check.output}`);
            });

            it("nothing fails the validate CLI", () => {
                assert.deepEqual(report.failures, []);
            });
        });
    }
});
