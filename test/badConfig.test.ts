import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../components/resources/errors";
import { pluggableMesh } from "../stacks/program";
import { attempt, expectedMessage, specFields } from "./hostileCases";
import { PROJECT_ROOT, runWithMocks } from "../mocks/mockEngine";
import { stackConfigSchema } from "../stacks/config";
import { RUOYI_SECRETS, RUOYI_SPEC } from "./support/meshRuns";

/**
 * A corpus of bad stack configs and app specs, each with the exact message the user sees, and
 * proof that nothing was registered: validation happens before the first resource exists, and
 * the error is a `pulumi.RunError`, which the CLI prints without a stack trace.
 */

let specDir: string;

/** Writes an app spec to the temp folder and returns its absolute path (used as the problem key prefix). */
function specFile(name: string, yaml: string): string {
    const file = path.join(specDir, name);
    fs.writeFileSync(file, yaml);
    return file;
}

function apps(...entries: { spec: string; mode?: string }[]): Record<string, string> {
    return { "pluggable-mesh:apps": JSON.stringify(entries), ...RUOYI_SECRETS };
}

/** A one-component app spec with extra YAML lines under the component. */
function webApp(name: string, componentLines: string[] = [], appLines: string[] = []): string {
    return [`name: ${name}`, ...appLines, "components:", "  - name: web", "    image: nginx:1.27.3", ...componentLines.map((line) => `    ${line}`), ""].join("\n");
}

/** How problems name a spec file: its path from the project root. */
function rel(name: string): string {
    return path.relative(PROJECT_ROOT, path.join(specDir, name));
}

interface BadCase {
    name: string;
    config: () => Record<string, string>;
    /** The `key: message` lines, in order. */
    problems: () => string[];
}

const ruoyi = () => apps({ spec: RUOYI_SPEC });
const KNOWN_KEYS = () => Object.keys(stackConfigSchema.shape).join(", ");

const CASES: BadCase[] = [
    {
        name: "unknown stack mode",
        config: () => ({ ...ruoyi(), "pluggable-mesh:mode": "consul" }),
        problems: () => ['pluggable-mesh:mode: "consul" is not a mode; use one of native, envoy, istio, linkerd'],
    },
    {
        name: "unknown NetworkPolicy level",
        config: () => ({ ...ruoyi(), "pluggable-mesh:networkPolicies": "egress" }),
        problems: () => ['pluggable-mesh:networkPolicies: "egress" is not a NetworkPolicy level; use one of ingress, ingress+egress, off'],
    },
    {
        name: "unknown per-app mode",
        config: () => apps({ spec: RUOYI_SPEC, mode: "consul" }),
        problems: () => ['pluggable-mesh:apps[0].mode: "consul" is not a mode; use one of native, envoy, istio, linkerd'],
    },
    {
        name: "unknown top-level key (a typo)",
        config: () => ({ ...ruoyi(), "pluggable-mesh:mtl": "STRICT" }),
        problems: () => [`pluggable-mesh:mtl: is not a setting of this project; did you mean "mtls"? use one of ${KNOWN_KEYS()}`],
    },
    {
        name: "unknown nested key (a typo)",
        config: () => ({ ...ruoyi(), "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", gatway: { enabled: true } }) }),
        problems: () => [
            'pluggable-mesh:istio: unknown field "gatway" (did you mean "gateway"?); allowed fields: controlPlane, namespace, createNamespace, version, repository, localChartsDir, revision, accessLogs, outboundTrafficPolicy, holdApplicationUntilProxyStarts, proxyResources, gateway, validationFailurePolicy, webhookEndpoint, allowPlaintextCallers',
        ],
    },
    {
        name: "wrong type of a scalar",
        config: () => ({ ...ruoyi(), "pluggable-mesh:production": "yes" }),
        problems: () => ['pluggable-mesh:production: expected boolean, given "yes"'],
    },
    {
        name: "wrong type of a structured value",
        config: () => ({ "pluggable-mesh:apps": JSON.stringify({ spec: RUOYI_SPEC }) }),
        problems: () => [`pluggable-mesh:apps: expected array, given {"spec":"${RUOYI_SPEC}"}`],
    },
    {
        name: "unknown field in an app spec component",
        config: () => apps({ spec: specFile("unknown-field.yaml", webApp("shop", ["replica: 2"])) }),
        problems: () => [`${rel("unknown-field.yaml")}: components[0]: unknown field "replica" (did you mean "replicas"?); allowed fields: ${specFields("components", 0)}`],
    },
    {
        name: "unknown field at the top of an app spec",
        config: () => apps({ spec: specFile("unknown-top.yaml", webApp("shop", [], ["replicas: 2"])) }),
        problems: () => [`${rel("unknown-top.yaml")}: (top level): unknown field "replicas"; allowed fields: ${specFields()}`],
    },
    {
        name: "unknown dependency",
        config: () => apps({ spec: specFile("unknown-dep.yaml", webApp("shop", ["dependsOn: [api]"])) }),
        problems: () => [`${rel("unknown-dep.yaml")}: components[0].dependsOn[0]: "api" is not a component of this app; known: web`],
    },
    {
        name: "unknown dependency in another app",
        config: () => apps({ spec: RUOYI_SPEC }, { spec: specFile("unknown-app-dep.yaml", webApp("shop", ["dependsOn: [ruoyi/ruoyi-api]"])) }),
        problems: () => [
            `${rel("unknown-app-dep.yaml")}: components[0].dependsOn[0]: "ruoyi/ruoyi-api" is not a component of app "ruoyi"; known: ruoyi/ruoyi-ui, ruoyi/ruoyi-admin, ruoyi/mysql, ruoyi/redis`,
        ],
    },
    {
        name: "a production stack whose STRICT istio-mode app would accept plaintext from a caller in another mode",
        config: () => ({
            ...apps({ spec: RUOYI_SPEC, mode: "istio" }, { spec: specFile("plaintext-caller.yaml", webApp("billing", ["dependsOn: [ruoyi/ruoyi-admin]"])), mode: "native" }),
            "pluggable-mesh:production": "true",
            "pluggable-mesh:mtls": "STRICT",
            "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", gateway: { enabled: true } }),
        }),
        problems: () => [
            "pluggable-mesh:istio.allowPlaintextCallers: ruoyi/ruoyi-admin has mtls STRICT in a production stack, but callers outside the Istio mesh would need plaintext: billing/web (mode native) on port 8080 (http); move them to mode istio, or set this key to true to open exactly those ports to them",
        ],
    },
    {
        name: "unknown dependency port",
        config: () =>
            apps({
                spec: specFile("unknown-port.yaml", webApp("shop", ["dependsOn: ['api:grpc']"]) + "  - name: api\n    image: shop/api:1\n    ports: [{ name: http, port: 8080 }]\n"),
            }),
        problems: () => [`${rel("unknown-port.yaml")}: components[0].dependsOn[0]: "grpc" is not a port of "api"; use one of http`],
    },
    {
        name: "duplicate internal domain name (two apps share a namespace and a component name)",
        config: () =>
            apps(
                { spec: specFile("shared-a.yaml", webApp("shop", [], ["namespace: shared"])) },
                { spec: specFile("shared-b.yaml", webApp("blog", [], ["namespace: shared", "createNamespace: false"])) },
            ),
        problems: () => [
            `${rel("shared-b.yaml")}: components[0].name: internal domain name "web" is already used in namespace "shared" by shop/web; it must be unique per namespace`,
        ],
    },
    {
        name: "internal domain name taken by another component's headless Service",
        config: () =>
            apps(
                { spec: specFile("headless-a.yaml", webApp("shop", [], ["namespace: shared"])) },
                { spec: specFile("headless-b.yaml", "name: blog\nnamespace: shared\ncreateNamespace: false\ncomponents:\n  - name: web-headless\n    image: nginx:1.27.3\n") },
            ),
        problems: () => [
            `${rel("headless-b.yaml")}: components[0].name: internal domain name "web-headless" is already used in namespace "shared" by shop/web; it must be unique per namespace`,
        ],
    },
    {
        name: "invalid component name",
        config: () => apps({ spec: specFile("bad-name.yaml", webApp("shop").replace("name: web", "name: Web_UI")) }),
        problems: () => [
            `${rel("bad-name.yaml")}: components[0].name: expected a DNS-1035 label (lowercase letters, digits, dashes; starts with a letter), given "Web_UI"`,
        ],
    },
    {
        name: "port out of range",
        config: () => apps({ spec: specFile("port-range.yaml", webApp("shop", ["ports: [{ name: http, port: 70000 }]"])) }),
        problems: () => [`${rel("port-range.yaml")}: components[0].ports[0].port: expected at most 65535, given 70000`],
    },
    {
        name: "reserved port 15001",
        config: () => apps({ spec: specFile("reserved.yaml", webApp("shop", ["ports: [{ name: http, port: 15001 }]"])) }),
        problems: () => [`${rel("reserved.yaml")}: components[0].ports[0].port: container port 15001 is reserved for sidecars (15000-15099); choose another port`],
    },
    {
        name: "reserved container port behind a free Service port",
        config: () => apps({ spec: specFile("reserved-target.yaml", webApp("shop", ["ports: [{ name: http, port: 80, targetPort: 15090 }]"])) }),
        problems: () => [
            `${rel("reserved-target.yaml")}: components[0].ports[0].targetPort: container port 15090 is reserved for sidecars (15000-15099); choose another port`,
        ],
    },
    {
        name: "istio mode without a control plane",
        config: () => ({ ...ruoyi(), "pluggable-mesh:mode": "istio" }),
        problems: () => [
            'pluggable-mesh:istio.controlPlane: app "ruoyi" uses mode istio, but the stack has no Istio control plane; set it to "install" (or "existing" for one already in the cluster)',
        ],
    },
    {
        name: "istio mode exposing a component without the ingress gateway",
        config: () => ({ ...ruoyi(), "pluggable-mesh:mode": "istio", "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install" }) }),
        problems: () => ["pluggable-mesh:istio.gateway.enabled: ruoyi/ruoyi-ui is exposed and mode istio exposes through the Istio ingress gateway; set it to true"],
    },
    {
        name: "linkerd mode without a control plane",
        config: () => apps({ spec: RUOYI_SPEC, mode: "linkerd" }),
        problems: () => [
            'pluggable-mesh:linkerd.controlPlane: app "ruoyi" uses mode linkerd, but the stack declares no Linkerd control plane; install Linkerd and set it to "existing"',
        ],
    },
    {
        name: "unsupported Istio/Kubernetes pair",
        config: () => ({ ...ruoyi(), "pluggable-mesh:kubernetesVersion": "1.29", "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install" }) }),
        problems: () => ["pluggable-mesh:istio.version: Istio 1.30.5 supports Kubernetes 1.32-1.36; the cluster is declared as 1.29"],
    },
    {
        name: "Istio webhook endpoint that is not an https base URL with a PEM bundle",
        config: () => ({
            ...ruoyi(),
            "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", webhookEndpoint: { url: "https://127.0.0.1:15017/inject", caBundle: "LS0tLS1" } }),
        }),
        problems: () => [
            `pluggable-mesh:istio.webhookEndpoint.url: "https://127.0.0.1:15017/inject" is not a base URL of istiod's webhook server; use https://host:port with no path, e.g. "https://istiod.example.com:15017"`,
            'pluggable-mesh:istio.webhookEndpoint.caBundle: "LS0tLS1" is not base64 of PEM certificates; use the output of `base64 -w0 ca.crt`',
        ],
    },
    {
        name: "anonymous Kiali in production",
        config: () => ({
            ...ruoyi(),
            "pluggable-mesh:production": "true",
            "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install" }),
            "pluggable-mesh:observability": JSON.stringify({ enabled: true, kialiAuth: "anonymous" }),
        }),
        problems: () => ['pluggable-mesh:observability.kialiAuth: "anonymous" is refused for a production stack (pluggable-mesh:production is true); use "token"'],
    },
    {
        name: "bad duration",
        config: () => apps({ spec: specFile("duration.yaml", webApp("shop", [], ["traffic: { timeout: 15 seconds }"])) }),
        problems: () => [`${rel("duration.yaml")}: traffic.timeout: expected a duration such as "250ms", "15s" or "2m", given "15 seconds"`],
    },
    {
        name: "unknown retry condition",
        config: () => apps({ spec: specFile("retry-on.yaml", webApp("shop", [], ["traffic: { retries: { retryOn: [5xx, sometimes] } }"])) }),
        problems: () => [
            `${rel("retry-on.yaml")}: traffic.retries.retryOn[1]: "sometimes" is not a retry condition; use one of 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable`,
        ],
    },
    {
        name: "placeholder in a config file naming an undeclared dependency",
        config: () =>
            apps({
                spec: specFile(
                    "placeholder.yaml",
                    webApp("shop", ["configFiles:", "  - path: /etc/nginx/conf.d/default.conf", "    content: 'proxy_pass {{ api.http.url }}/;'"]) +
                        "  - name: api\n    image: shop/api:1\n    ports: [{ name: http, port: 8080 }]\n",
                ),
            }),
        problems: () => [
            `${rel("placeholder.yaml")}: components[0].configFiles[0].content: placeholder "{{ api.http.url }}" refers to no declared dependency; declare "api:http" in dependsOn`,
        ],
    },
    {
        name: "missing spec file",
        config: () => apps({ spec: "stacks/apps/nope.yaml" }),
        problems: () => ['pluggable-mesh:apps[0].spec: cannot read app spec file "stacks/apps/nope.yaml" (relative to the project root)'],
    },
    {
        name: "invalid YAML",
        config: () => apps({ spec: specFile("invalid.yaml", "name: shop\ncomponents:\n  - name: web\n   image: nginx:1.27.3\n") }),
        problems: () => [`pluggable-mesh:apps[0].spec: "${rel("invalid.yaml")}" is not valid YAML: Sequence item without - indicator at line 4, column 1`],
    },
    {
        name: "several stack config problems at once",
        config: () => ({
            ...apps({ spec: RUOYI_SPEC, mode: "consul" }),
            "pluggable-mesh:mtls": "strict",
            "pluggable-mesh:production": "yes",
            "pluggable-mesh:mtl": "STRICT",
        }),
        problems: () => [
            'pluggable-mesh:production: expected boolean, given "yes"',
            'pluggable-mesh:mtls: "strict" is not allowed; use one of STRICT, PERMISSIVE',
            'pluggable-mesh:apps[0].mode: "consul" is not a mode; use one of native, envoy, istio, linkerd',
            `pluggable-mesh:mtl: is not a setting of this project; did you mean "mtls"? use one of ${KNOWN_KEYS()}`,
        ],
    },
    {
        name: "several problems across keys, files and modes at once",
        config: () => ({
            ...apps(
                { spec: RUOYI_SPEC, mode: "linkerd" },
                { spec: specFile("several.yaml", webApp("shop", ["ports: [{ name: http, port: 15001 }]", "dependsOn: [api]"])) },
                { spec: "stacks/apps/nope.yaml" },
            ),
            "pluggable-mesh:production": "true",
            "pluggable-mesh:observability": JSON.stringify({ enabled: true, kialiAuth: "anonymous" }),
        }),
        problems: () => [
            'pluggable-mesh:observability.kialiAuth: "anonymous" is refused for a production stack (pluggable-mesh:production is true); use "token"',
            'pluggable-mesh:observability.enabled: Kiali needs an Istio control plane; set pluggable-mesh:istio.controlPlane to "install" or "existing", or set this to false',
            'pluggable-mesh:apps[2].spec: cannot read app spec file "stacks/apps/nope.yaml" (relative to the project root)',
            `${rel("several.yaml")}: components[0].ports[0].port: container port 15001 is reserved for sidecars (15000-15099); choose another port`,
            `${rel("several.yaml")}: components[0].dependsOn[0]: "api" is not a component of this app; known: web`,
            'pluggable-mesh:linkerd.controlPlane: app "ruoyi" uses mode linkerd, but the stack declares no Linkerd control plane; install Linkerd and set it to "existing"',
        ],
    },
];

describe("bad configuration", () => {
    before(() => {
        // Inside the project (out/ is git-ignored): spec files outside it are refused.
        fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
        specDir = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", "bad-specs-"));
    });
    after(() => {
        fs.rmSync(specDir, { recursive: true, force: true });
    });

    it("starts from a config that works: RuoYi alone registers its resources", async () => {
        const { error, registered } = await attempt(ruoyi());
        assert.equal(error, undefined);
        // Five of them are NetworkPolicies: one per component and the namespace's default-deny; two are the Secrets of mysql and ruoyi-admin holding the MySQL password.
        assert.equal(registered, 29);
    });

    for (const badCase of CASES) {
        it(`refuses ${badCase.name}, registering nothing`, async () => {
            const { error, registered } = await attempt(badCase.config());
            assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
            assert.equal(error.message, expectedMessage(badCase.problems()));
            assert.equal(error.problems.length, badCase.problems().length);
            // A RunError: the CLI prints the message alone, without a stack trace.
            assert.ok(error instanceof pulumi.RunError);
            assert.ok(pulumi.RunError.isInstance(error));
            assert.equal(registered, 0);
        });
    }

    it("rejects the run itself (as `pulumi preview` fails) with the same RunError", async () => {
        await assert.rejects(
            runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack: "bad", config: { ...ruoyi(), "pluggable-mesh:mode": "consul" } }),
            (error: unknown) => {
                assert.ok(pulumi.RunError.isInstance(error));
                assert.equal((error as Error).message, expectedMessage(['pluggable-mesh:mode: "consul" is not a mode; use one of native, envoy, istio, linkerd']));
                return true;
            },
        );
    });

    it("names every top-level key the schema knows in the unknown-key message", () => {
        assert.deepEqual(
            ["production", "mode", "mtls", "kubernetesVersion", "istio", "linkerd", "observability", "apps"].filter((key) => !KNOWN_KEYS().split(", ").includes(key)),
            [],
        );
    });
});
