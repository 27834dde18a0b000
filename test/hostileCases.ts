import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify } from "yaml";
import { pluggableMesh } from "../stacks/program";
import { PROJECT_ROOT, runWithMocks, type MockOptions } from "../mocks/mockEngine";
import { appSpecSchema, fieldsAt } from "../components/model";
import { stackConfigSchema } from "../stacks/config";
import { RUOYI_SECRETS, RUOYI_SPEC } from "./support/meshRuns";

/**
 * The hostile-input corpus: one change each to a shipped stack or to a copy of ruoyi.yaml, grouped
 * by the class of failure in issue #11. Each case gives the exact problems the user must see and
 * the text that must never appear (a secret, a file's content).
 */

/** Runs the program under mocks and returns what it threw and how many resources it registered first. */
export async function attempt(config: Record<string, string>, stack = "hostile", stackOutputs?: MockOptions["stackOutputs"]): Promise<{ error: unknown; registered: number }> {
    let error: unknown;
    const run = await runWithMocks(
        async () => {
            try {
                await pluggableMesh(PROJECT_ROOT);
            } catch (thrown) {
                error = thrown;
            }
        },
        { stack, config, stackOutputs },
    );
    return { error, registered: run.resources.length };
}

/** The whole message of a ConfigError with these problems. */
export function expectedMessage(problems: readonly string[]): string {
    return `invalid configuration (${problems.length === 1 ? "1 problem" : `${problems.length} problems`}):\n${problems.join("\n")}`;
}

export { RUOYI_SPEC };

/** The fields an app spec allows at a path (`[]` for the top, `["components", 0]` for a component), as the messages list them. */
export function specFields(...path: (string | number)[]): string {
    return fieldsAt(appSpecSchema, path)!.join(", ");
}

/** A fake token planted in files and secrets: it must never appear in any message. */
export const FAKE_TOKEN = "ghp_FAKEtoken0123456789abcdefFAKEtoken0123";

/** A folder inside the project (out/ is git-ignored) for the specs the cases write. */
export class SpecFolder {
    readonly dir: string;
    constructor(prefix: string) {
        fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
        this.dir = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", prefix));
    }
    /** Writes a file and returns its path from the project root (what problems name). */
    write(name: string, text: string): string {
        fs.writeFileSync(path.join(this.dir, name), text);
        return this.rel(name);
    }
    /** A copy of ruoyi.yaml with one change. */
    ruoyi(name: string, change: (spec: any) => void): string {
        const spec = parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, RUOYI_SPEC), "utf8"));
        change(spec);
        return this.write(name, stringify(spec));
    }
    symlink(name: string, target: string): string {
        fs.symlinkSync(target, path.join(this.dir, name));
        return this.rel(name);
    }
    rel(name: string): string {
        return path.relative(PROJECT_ROOT, path.join(this.dir, name));
    }
    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

export interface HostileCase {
    /** Issue #11's class of failure. */
    class: 1 | 2 | 3 | 4 | 5 | 6 | 8;
    name: string;
    config: (files: SpecFolder) => Record<string, string>;
    /** The `key: message` lines, in order. */
    problems: (files: SpecFolder) => string[];
    /** Text that must not appear in the message (secrets, file contents). @default [FAKE_TOKEN] */
    forbidden?: string[];
}

/** A stack of these apps, with the secret values RuoYi references. */
export const apps = (...entries: { spec: string; mode?: string }[]) => ({ "pluggable-mesh:apps": JSON.stringify(entries), ...RUOYI_SECRETS });
const ruoyi = () => apps({ spec: RUOYI_SPEC });
const istio = (extra: Record<string, unknown> = {}) => ({ "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", gateway: { enabled: true }, ...extra }) });
const observability = (extra: Record<string, unknown> = {}) => ({ "pluggable-mesh:observability": JSON.stringify({ enabled: true, ...extra }) });
const KNOWN_KEYS = () => Object.keys(stackConfigSchema.shape).join(", ");
const ui = (spec: any) => spec.components[0];
const admin = (spec: any) => spec.components[1];
const mysql = (spec: any) => spec.components[2];

const OUTSIDE = (value: string, where = "inside the project (relative to its root)") => `${value} leads outside the allowed folders (symlinks followed); use a path ${where}`;
const SIGNING_KEY_RULE = "is set (the value is not shown), but Kiali accepts only a signing key of exactly 16, 24 or 32 bytes; e.g. `openssl rand -hex 16` gives 32";
const MOUNT_ALLOWED = "use an absolute path without '..' segments, ':' or NUL, not '/' and not under /var/run/secrets";
const DNS_NAME_ALLOWED = `use dot-separated labels of lowercase letters, digits and '-' (none empty, each at most 63 characters), at most 253 characters, e.g. "app.example.com"`;
const SYSTEM_NAMESPACES = "default, kube-system, kube-public, kube-node-lease, istio-system, linkerd, linkerd-viz, linkerd-cni";
const SYSTEM_NAMESPACE = (namespace: string, extra = "") =>
    `namespace ${JSON.stringify(namespace)} belongs to Kubernetes or a mesh control plane; apps may not use ${SYSTEM_NAMESPACES}${extra} or any kube-* namespace, so choose another`;
const REPOSITORY_ALLOWED = 'is not an allowed chart repository; use an https:// or oci:// URL with a host name (no IP address, no credentials), e.g. "https://istio-release.storage.googleapis.com/charts"';
const IMAGE_ALLOWED = 'use [registry/]repository[:tag][@digest] in lowercase, e.g. "docker.io/library/redis:7.4.2"';
const ENV_ALLOWED = "use letters, digits, '_', '-' and '.', not starting with a digit";

export const CASES: HostileCase[] = [
    // ── Class 1: any file can be read and printed ──────────────────────────────────────────────
    {
        class: 1,
        name: "an app spec at an absolute path outside the project (/proc/self/environ)",
        config: () => apps({ spec: "/proc/self/environ" }),
        problems: () => [`pluggable-mesh:apps[0].spec: ${OUTSIDE('"/proc/self/environ"')}`],
    },
    {
        class: 1,
        name: "an app spec reached with ../ (../../etc/passwd)",
        config: () => apps({ spec: "../../etc/passwd" }),
        problems: () => [`pluggable-mesh:apps[0].spec: ${OUTSIDE('"../../etc/passwd"')}`],
        forbidden: ["root:"],
    },
    {
        class: 1,
        name: "an app spec through a symlink inside the project that points outside",
        config: (files) => apps({ spec: files.symlink("passwd.yaml", "/etc/passwd") }),
        problems: (files) => [`pluggable-mesh:apps[0].spec: ${OUTSIDE(JSON.stringify(files.rel("passwd.yaml")))}`],
        forbidden: ["root:"],
    },
    {
        class: 1,
        name: "an app spec under a symlinked folder that points outside",
        config: (files) => apps({ spec: `${files.symlink("etc", "/etc")}/hostname` }),
        problems: (files) => [`pluggable-mesh:apps[0].spec: ${OUTSIDE(JSON.stringify(`${files.rel("etc")}/hostname`))}`],
    },
    {
        class: 1,
        name: "an app spec that is a folder",
        config: () => apps({ spec: "stacks/apps" }),
        problems: () => ['pluggable-mesh:apps[0].spec: "stacks/apps" is not a file; use the path of an app spec file (relative to the project root)'],
    },
    {
        class: 1,
        name: "an app spec path with a NUL byte",
        config: () => apps({ spec: "stacks/apps/ruoyi.yaml\u0000.txt" }),
        problems: () => ['pluggable-mesh:apps[0].spec: "stacks/apps/ruoyi.yaml\\u0000.txt" is not a path; use a path inside the project (relative to its root)'],
    },
    {
        class: 1,
        name: "an app spec file over 4 MiB",
        config: (files) => apps({ spec: files.write("huge.yaml", `# ${"x".repeat(4 * 1024 * 1024)}\nname: shop\n`) }),
        problems: (files) => [`pluggable-mesh:apps[0].spec: ${JSON.stringify(files.rel("huge.yaml"))} is 4194318 bytes; app spec files are at most 4194304 bytes`],
    },
    {
        class: 1,
        name: "a file that is not YAML, holding a token",
        config: (files) => apps({ spec: files.write("token.yaml", `token: "${FAKE_TOKEN}\n  more: [unclosed\n`) }),
        problems: (files) => [`pluggable-mesh:apps[0].spec: ${JSON.stringify(files.rel("token.yaml"))} is not valid YAML: Missing closing "quote at line 3, column 1`],
    },
    {
        class: 1,
        name: "a YAML file whose unresolved tag is the token",
        config: (files) => apps({ spec: files.write("tag.yaml", `name: !${FAKE_TOKEN} shop\n`) }),
        problems: (files) => [`pluggable-mesh:apps[0].spec: ${JSON.stringify(files.rel("tag.yaml"))} is not valid YAML: an unresolved tag at line 1, column 7`],
    },
    {
        class: 1,
        name: "a YAML file that is one scalar (the token)",
        config: (files) => apps({ spec: files.write("scalar.yaml", `${FAKE_TOKEN}\n`) }),
        problems: (files) => [`${files.rel("scalar.yaml")}: (top level): expected a mapping, given a string of ${FAKE_TOKEN.length} characters`],
    },
    {
        class: 1,
        name: "a YAML file that is a list of secrets",
        config: (files) => apps({ spec: files.write("list.yaml", `- ${FAKE_TOKEN}\n- hunter2\n`) }),
        problems: (files) => [`${files.rel("list.yaml")}: (top level): expected a mapping, given a list of 2 items`],
        forbidden: [FAKE_TOKEN, "hunter2"],
    },
    {
        class: 1,
        name: "an app spec whose unknown field holds a token",
        config: (files) => apps({ spec: files.ruoyi("unknown-token.yaml", (spec) => (spec.token = FAKE_TOKEN)) }),
        problems: (files) => [`${files.rel("unknown-token.yaml")}: (top level): unknown field "token"; allowed fields: ${specFields()}`],
    },
    {
        class: 1,
        name: "an app spec whose long value is clipped",
        config: (files) => apps({ spec: files.ruoyi("long.yaml", (spec) => (ui(spec).image = `nginx:${"1".repeat(400)}${FAKE_TOKEN}`)) }),
        problems: (files) => [
            `${files.rel("long.yaml")}: components[0].image: "nginx:111111111111111111111111111111111111111111111111111111…" (${6 + 400 + FAKE_TOKEN.length} characters) is not an image reference; use [registry/]repository[:tag][@digest] in lowercase, e.g. "docker.io/library/redis:7.4.2"`,
        ],
    },
    {
        class: 1,
        name: "istio.localChartsDir outside the project",
        config: () => ({ ...ruoyi(), ...istio({ localChartsDir: "/etc" }) }),
        problems: () => [`pluggable-mesh:istio.localChartsDir: ${OUTSIDE('"/etc"', "inside the project or the tools cache that tools/tools.sh fills")}`],
    },
    {
        class: 1,
        name: "istio.localChartsDir climbing out with ../",
        config: () => ({ ...ruoyi(), ...istio({ localChartsDir: "../../../../.." }) }),
        problems: () => [`pluggable-mesh:istio.localChartsDir: ${OUTSIDE('"../../../../.."', "inside the project or the tools cache that tools/tools.sh fills")}`],
    },
    {
        class: 1,
        name: "kubernetes.renderYamlToDirectory outside the project (it writes files)",
        config: () => ({ ...ruoyi(), "pluggable-mesh:kubernetes": JSON.stringify({ renderYamlToDirectory: "/tmp/../etc/cron.d" }) }),
        problems: () => [`pluggable-mesh:kubernetes.renderYamlToDirectory: ${OUTSIDE('"/tmp/../etc/cron.d"')}`],
    },
    {
        class: 1,
        name: "kubernetes.kubeconfig pointing at a file outside the project and ~/.kube",
        config: () => ({ ...ruoyi(), "pluggable-mesh:kubernetes": JSON.stringify({ kubeconfig: "/etc/shadow" }) }),
        problems: () => [`pluggable-mesh:kubernetes.kubeconfig: ${OUTSIDE('"/etc/shadow"', "inside the project or ~/.kube")}`],
    },

    {
        class: 1,
        name: "an app spec that cannot be read (a dangling symlink inside the project)",
        config: (files) => apps({ spec: files.symlink("dangling.yaml", "does-not-exist.yaml") }),
        problems: (files) => [`pluggable-mesh:apps[0].spec: cannot read app spec file ${JSON.stringify(files.rel("dangling.yaml"))} (relative to the project root)`],
    },
    {
        class: 1,
        name: "a 5000-character unknown top-level key (the key itself is clipped)",
        config: () => ({ ...ruoyi(), [`pluggable-mesh:${FAKE_TOKEN}${"k".repeat(5000)}`]: "x" }),
        problems: () => [`pluggable-mesh:"${FAKE_TOKEN}${"k".repeat(60 - FAKE_TOKEN.length)}…" (${FAKE_TOKEN.length + 5000} characters): is not a setting of this project; use one of ${KNOWN_KEYS()}`],
        forbidden: ["k".repeat(61)],
    },
    {
        class: 1,
        name: "a 5000-character variable name Kubernetes refuses (clipped in the key and the message)",
        config: (files) => apps({ spec: files.ruoyi("env-long.yaml", (spec) => (admin(spec).env[`1${"V".repeat(4999)}`] = "x")) }),
        problems: (files) => [`${files.rel("env-long.yaml")}: components[1].env."1${"V".repeat(59)}…" (5000 characters): "1${"V".repeat(59)}…" (5000 characters) is not an environment variable name; ${ENV_ALLOWED}`],
        forbidden: ["V".repeat(61)],
    },

    {
        class: 1,
        name: "an Istio chart repository that reads a local file",
        config: () => ({ ...ruoyi(), ...istio({ repository: "file:///etc/passwd" }) }),
        problems: () => [`pluggable-mesh:istio.repository: "file:///etc/passwd" ${REPOSITORY_ALLOWED}`],
    },
    {
        class: 1,
        name: "an Istio chart repository at the cloud metadata address",
        config: () => ({ ...ruoyi(), ...istio({ repository: "https://169.254.169.254/latest/meta-data" }) }),
        problems: () => [`pluggable-mesh:istio.repository: "https://169.254.169.254/latest/meta-data" ${REPOSITORY_ALLOWED}`],
    },
    {
        class: 2,
        name: "an Istio chart repository with credentials in the URL",
        config: () => ({ ...ruoyi(), ...istio({ repository: `https://user:${FAKE_TOKEN}@charts.example.com` }) }),
        problems: () => ['pluggable-mesh:istio.repository: "https://charts.example.com/" carries credentials in the URL (not shown); a stack file is no place for them, so use a repository that needs none or a mirror'],
        forbidden: [FAKE_TOKEN, "user:"],
    },

    // ── Class 2: secrets in messages ───────────────────────────────────────────────────────────
    {
        class: 2,
        name: "a kialiSigningKey that is too short",
        config: () => ({ ...ruoyi(), "pluggable-mesh:kialiSigningKey": "hunter2-secret" }),
        problems: () => [`pluggable-mesh:kialiSigningKey: ${SIGNING_KEY_RULE}`],
        forbidden: ["hunter2"],
    },
    {
        class: 2,
        name: "a kialiSigningKey of 17 bytes (passes a length-only schema, Kiali refuses it)",
        config: () => ({ ...ruoyi(), ...istio(), ...observability(), "pluggable-mesh:kialiSigningKey": FAKE_TOKEN.slice(0, 17) }),
        problems: () => [`pluggable-mesh:kialiSigningKey: ${SIGNING_KEY_RULE}`],
        forbidden: [FAKE_TOKEN.slice(0, 17), FAKE_TOKEN.slice(4, 12)],
    },
    {
        class: 2,
        name: "a kialiSigningKey of 33 bytes",
        config: () => ({ ...ruoyi(), ...istio(), ...observability(), "pluggable-mesh:kialiSigningKey": FAKE_TOKEN.slice(0, 33) }),
        problems: () => [`pluggable-mesh:kialiSigningKey: ${SIGNING_KEY_RULE}`],
        forbidden: [FAKE_TOKEN.slice(4, 12)],
    },
    {
        class: 2,
        name: "a kialiSigningKey of 16 characters but 17 bytes (Kiali counts bytes)",
        config: () => ({ ...ruoyi(), ...istio(), ...observability(), "pluggable-mesh:kialiSigningKey": "é0123456789abcde" }),
        problems: () => [`pluggable-mesh:kialiSigningKey: ${SIGNING_KEY_RULE}`],
        forbidden: ["0123456789"],
    },
    {
        class: 2,
        name: "a kialiSigningKey that is a structured value",
        config: () => ({ ...ruoyi(), "pluggable-mesh:kialiSigningKey": JSON.stringify({ key: FAKE_TOKEN }) }),
        problems: () => ["pluggable-mesh:kialiSigningKey: expected string, given a secret value (not shown)"],
    },
    {
        class: 2,
        name: "a wrong kialiSigningKey among other problems",
        config: () => ({ ...ruoyi(), "pluggable-mesh:kialiSigningKey": FAKE_TOKEN, "pluggable-mesh:mode": "consul" }),
        problems: () => ['pluggable-mesh:mode: "consul" is not a mode; use one of native, envoy, istio, linkerd'],
    },

    // ── Class 3: checked only after registration ───────────────────────────────────────────────
    {
        class: 3,
        name: "Kiali through the gateway without a host",
        config: () => ({ ...ruoyi(), ...istio(), ...observability({ kialiExposure: "gateway" }) }),
        problems: () => ['pluggable-mesh:observability.kialiHost: is required when kialiExposure is "gateway" (expected a hostname, given nothing)'],
    },
    {
        class: 3,
        name: "Kiali through the gateway that is not installed",
        config: () => ({ ...ruoyi(), "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install" }), ...observability({ kialiExposure: "gateway", kialiHost: "kiali.example.com" }) }),
        problems: () => ['pluggable-mesh:istio.gateway.enabled: kialiExposure "gateway" needs the Istio ingress gateway; set this to true'],
    },
    {
        class: 3,
        name: "a Kiali host with an empty label",
        config: () => ({ ...ruoyi(), ...istio(), ...observability({ kialiExposure: "gateway", kialiHost: "kiali..example.com" }) }),
        problems: () => [`pluggable-mesh:observability.kialiHost: "kiali..example.com" is not a host name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 3,
        name: "a Kiali host in capitals",
        config: () => ({ ...ruoyi(), ...istio(), ...observability({ kialiExposure: "gateway", kialiHost: "Kiali.Example.com" }) }),
        problems: () => [`pluggable-mesh:observability.kialiHost: "Kiali.Example.com" is not a host name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 3,
        name: "an Istio revision that istiod's Service name cannot carry",
        config: () => ({ ...ruoyi(), ...istio({ revision: "Canary" }) }),
        problems: () => [`pluggable-mesh:istio.revision: "Canary" is not a revision name; use lowercase letters, digits and '-' (e.g. "1-30-5"), at most 56 characters`],
    },
    {
        class: 3,
        name: "an Istio namespace that is not a DNS label",
        config: () => ({ ...ruoyi(), ...istio({ namespace: "Istio_System" }) }),
        problems: () => [
            `pluggable-mesh:istio.namespace: "Istio_System" is not a DNS-1123 label; use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
        ],
    },
    {
        class: 3,
        name: "an Istio release that is not a version",
        config: () => ({ ...ruoyi(), ...istio({ version: "latest" }) }),
        problems: () => ['pluggable-mesh:istio.version: "latest" is not an Istio release version; use major.minor.patch, e.g. "1.30.5"'],
    },
    {
        class: 3,
        name: "local Istio charts and a repository at once",
        config: () => ({ ...ruoyi(), ...istio({ localChartsDir: "stacks", repository: "https://charts.example.com/istio" }) }),
        problems: () => [
            'pluggable-mesh:istio.localChartsDir: set together with repository "https://charts.example.com/istio"; choose one chart source',
            "pluggable-mesh:istio.localChartsDir: has no chart (Chart.yaml) in base/, istiod/ (or istio-control/istio-discovery/), gateway/",
        ],
    },
    // ── Class 4: values Kubernetes or Istio refuse at deploy time ──────────────────────────────
    {
        class: 4,
        name: "proxy resources that are not quantities",
        config: () => ({ ...ruoyi(), ...istio({ proxyResources: { requests: { cpu: "lots" } } }) }),
        problems: () => [`pluggable-mesh:istio.proxyResources.requests.cpu: "lots" is not a Kubernetes quantity; use a number with an optional suffix, such as "500m", "256Mi" or "10Gi"`],
    },
    {
        class: 4,
        name: "a proxy memory request above Istio's default limit",
        config: () => ({ ...ruoyi(), ...istio({ proxyResources: { requests: { memory: "2Gi" } } }) }),
        problems: () => [`pluggable-mesh:istio.proxyResources.requests.memory: "2Gi" is more than the limit "1024Mi"; a request must not exceed its limit (Kubernetes refuses the pod)`],
    },
    {
        class: 4,
        name: "a proxy CPU request above its own limit",
        config: () => ({ ...ruoyi(), ...istio({ proxyResources: { requests: { cpu: "3" }, limits: { cpu: "2500m" } } }) }),
        problems: () => [`pluggable-mesh:istio.proxyResources.requests.cpu: "3" is more than the limit "2500m"; a request must not exceed its limit (Kubernetes refuses the pod)`],
    },
    {
        class: 4,
        name: "an image reference with a shell command in it",
        config: (files) => apps({ spec: files.ruoyi("image-shell.yaml", (spec) => (spec.components[3].image = "redis:7.4 ; curl x | sh")) }),
        problems: (files) => [`${files.rel("image-shell.yaml")}: components[3].image: "redis:7.4 ; curl x | sh" is not an image reference; ${IMAGE_ALLOWED}`],
    },
    {
        class: 4,
        name: "an image repository in capitals",
        config: (files) => apps({ spec: files.ruoyi("image-caps.yaml", (spec) => (spec.components[3].image = "docker.io/library/Redis:7.4.2")) }),
        problems: (files) => [`${files.rel("image-caps.yaml")}: components[3].image: "docker.io/library/Redis:7.4.2" is not an image reference; ${IMAGE_ALLOWED}`],
    },
    {
        class: 4,
        name: "an empty image",
        config: (files) => apps({ spec: files.ruoyi("image-empty.yaml", (spec) => (spec.components[3].image = "")) }),
        problems: (files) => [`${files.rel("image-empty.yaml")}: components[3].image: "" is not an image reference; ${IMAGE_ALLOWED}`],
    },
    {
        class: 4,
        name: "a stack envoy image that is not a reference",
        config: () => ({ ...ruoyi(), "pluggable-mesh:envoyImage": "envoyproxy/envoy:v1.36 && rm -rf /" }),
        problems: () => [`pluggable-mesh:envoyImage: "envoyproxy/envoy:v1.36 && rm -rf /" is not an image reference; ${IMAGE_ALLOWED}`],
    },
    {
        class: 4,
        name: "an env var name starting with a digit",
        config: (files) => apps({ spec: files.ruoyi("env-digit.yaml", (spec) => (admin(spec).env["1JAVA_OPTS"] = "-Xmx1g")) }),
        problems: (files) => [`${files.rel("env-digit.yaml")}: components[1].env.1JAVA_OPTS: "1JAVA_OPTS" is not an environment variable name; ${ENV_ALLOWED}`],
    },
    {
        class: 4,
        name: "an env var name with '='",
        config: (files) => apps({ spec: files.ruoyi("env-equals.yaml", (spec) => (admin(spec).env["A=B"] = "x")) }),
        problems: (files) => [`${files.rel("env-equals.yaml")}: components[1].env.A=B: "A=B" is not an environment variable name; ${ENV_ALLOWED}`],
    },
    {
        class: 4,
        name: "an env var named __proto__ (silently dropped otherwise)",
        config: (files) => apps({ spec: files.write("env-proto.yaml", fs.readFileSync(path.join(PROJECT_ROOT, RUOYI_SPEC), "utf8").replace("SPRING_PROFILES_ACTIVE: prod", "SPRING_PROFILES_ACTIVE: prod\n      __proto__: polluted")) }),
        problems: (files) => [`${files.rel("env-proto.yaml")}: components[1].env.__proto__: "__proto__" cannot be a key (JavaScript objects drop it silently); rename it`],
    },
    {
        class: 4,
        name: "a dependency's own variable name that Kubernetes refuses",
        config: (files) => apps({ spec: files.ruoyi("env-dep.yaml", (spec) => (admin(spec).dependsOn[1].env = { "SPRING REDIS HOST": "host" })) }),
        problems: (files) => [`${files.rel("env-dep.yaml")}: components[1].dependsOn[1].env.SPRING REDIS HOST: "SPRING REDIS HOST" is not an environment variable name; ${ENV_ALLOWED}`],
    },
    {
        class: 4,
        name: "an exposed host with an empty label",
        config: (files) => apps({ spec: files.ruoyi("host-empty-label.yaml", (spec) => (ui(spec).expose.host = "ruoyi..example.com")) }),
        problems: (files) => [`${files.rel("host-empty-label.yaml")}: components[0].expose.host: "ruoyi..example.com" is not a host name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 4,
        name: "an exposed host with a trailing dot",
        config: (files) => apps({ spec: files.ruoyi("host-dot.yaml", (spec) => (ui(spec).expose.host = "ruoyi.example.com.")) }),
        problems: (files) => [`${files.rel("host-dot.yaml")}: components[0].expose.host: "ruoyi.example.com." is not a host name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 4,
        name: "an exposed host with a label over 63 characters",
        config: (files) => apps({ spec: files.ruoyi("host-long-label.yaml", (spec) => (ui(spec).expose.host = `${"a".repeat(64)}.example.com`)) }),
        problems: (files) => [`${files.rel("host-long-label.yaml")}: components[0].expose.host: "${"a".repeat(60)}…" (76 characters) is not a host name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 4,
        name: "an exposed path with a space and a quote",
        config: (files) => apps({ spec: files.ruoyi("path-quote.yaml", (spec) => (ui(spec).expose.path = '/a b"')) }),
        problems: (files) => [`${files.rel("path-quote.yaml")}: components[0].expose.path: expected a URL path starting with '/' (no spaces or quotes), given "/a b\\""`],
    },
    {
        class: 4,
        name: "a clusterDomain that is a wildcard",
        config: () => ({ ...ruoyi(), "pluggable-mesh:clusterDomain": "*" }),
        problems: () => [`pluggable-mesh:clusterDomain: "*" is not a DNS name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 4,
        name: "replicas beyond int32",
        config: (files) => apps({ spec: files.ruoyi("replicas.yaml", (spec) => (admin(spec).replicas = 2147483648)) }),
        problems: (files) => [`${files.rel("replicas.yaml")}: components[1].replicas: expected at most 2147483647, given 2147483648`],
    },
    {
        class: 4,
        name: "a probe delay beyond int32",
        config: (files) => apps({ spec: files.ruoyi("probe-delay.yaml", (spec) => (admin(spec).readiness.initialDelaySeconds = 1e10)) }),
        problems: (files) => [`${files.rel("probe-delay.yaml")}: components[1].readiness.initialDelaySeconds: expected at most 2147483647, given 10000000000`],
    },
    {
        class: 4,
        name: "a config file over a ConfigMap's 1 MiB",
        config: (files) => apps({ spec: files.ruoyi("configmap-size.yaml", (spec) => (ui(spec).configFiles[0].content += "#".repeat(1024 * 1024))) }),
        problems: (files) => [
            `${files.rel("configmap-size.yaml")}: components[0].configFiles: the files come to 1049120 bytes (placeholders counted at 266 bytes); a ConfigMap holds at most 1048576 bytes (1 MiB), so split them or mount them another way`,
        ],
    },
    {
        class: 4,
        name: "a config file whose name makes a ConfigMap key over 253 characters",
        config: (files) => apps({ spec: files.ruoyi("configmap-key.yaml", (spec) => ui(spec).configFiles.push({ path: `/etc/nginx/${"n".repeat(250)}.conf`, content: "" })) }),
        problems: (files) => [
            `${files.rel("configmap-key.yaml")}: components[0].configFiles[1].path: the file name makes the ConfigMap key too long or invalid; use letters, digits, '-', '_' and '.', at most 253 characters`,
        ],
    },
    {
        class: 4,
        name: "a config file mounted at /",
        config: (files) => apps({ spec: files.ruoyi("mount-root.yaml", (spec) => (ui(spec).configFiles[0].path = "/")) }),
        problems: (files) => [`${files.rel("mount-root.yaml")}: components[0].configFiles[0].path: "/" is a folder; give the path of a file (not ending in '/')`],
    },
    {
        class: 4,
        name: "a config file path with ..",
        config: (files) => apps({ spec: files.ruoyi("mount-dotdot.yaml", (spec) => (ui(spec).configFiles[0].path = "/etc/nginx/../passwd")) }),
        problems: (files) => [`${files.rel("mount-dotdot.yaml")}: components[0].configFiles[0].path: "/etc/nginx/../passwd" is not an allowed mount path; ${MOUNT_ALLOWED}`],
    },
    {
        class: 4,
        name: "a config file over the ServiceAccount token",
        config: (files) => apps({ spec: files.ruoyi("mount-secrets.yaml", (spec) => (ui(spec).configFiles[0].path = "/var/run/secrets/kubernetes.io/serviceaccount/token")) }),
        problems: (files) => [
            `${files.rel("mount-secrets.yaml")}: components[0].configFiles[0].path: "/var/run/secrets/kubernetes.io/serviceaccount/token" is under /var/run/secrets, where Kubernetes mounts ServiceAccount tokens; ${MOUNT_ALLOWED}`,
        ],
    },
    {
        class: 4,
        name: "a volume mounted inside /var/run/secrets through a non-normal path",
        config: (files) => apps({ spec: files.ruoyi("storage-secrets.yaml", (spec) => (mysql(spec).storage.mountPath = "/var//run/./secrets/istio")) }),
        problems: (files) => [`${files.rel("storage-secrets.yaml")}: components[2].storage.mountPath: "/var//run/./secrets/istio" is under /var/run/secrets, where Kubernetes mounts ServiceAccount tokens; ${MOUNT_ALLOWED}`],
    },
    {
        class: 4,
        name: "the same file mounted twice once normalised",
        config: (files) => apps({ spec: files.ruoyi("mount-twice.yaml", (spec) => ui(spec).configFiles.push({ path: "/etc/nginx//conf.d/./default.conf", content: "" })) }),
        problems: (files) => [`${files.rel("mount-twice.yaml")}: components[0].configFiles[1].path: "/etc/nginx//conf.d/./default.conf" is the same mount point as configFiles[0].path; each path may be mounted once`],
    },
    {
        class: 4,
        name: "a config file at the volume's mount path",
        config: (files) => apps({ spec: files.ruoyi("mount-volume.yaml", (spec) => (mysql(spec).configFiles = [{ path: "/var/lib/mysql", content: "" }])) }),
        problems: (files) => [`${files.rel("mount-volume.yaml")}: components[2].storage.mountPath: "/var/lib/mysql" is the same mount point as configFiles[0].path; each path may be mounted once`],
    },
    {
        class: 4,
        name: "a tcp port exposed through an HTTP route",
        config: (files) => apps({ spec: files.ruoyi("expose-tcp.yaml", (spec) => (mysql(spec).expose = { port: "mysql", host: "mysql.example.com" })) }),
        problems: (files) => [
            `${files.rel("expose-tcp.yaml")}: components[2].expose.port: "mysql" is a tcp port; expose publishes an HTTP route (Ingress or the Istio gateway), so expose a port of protocol http, http2 or grpc`,
        ],
    },
    {
        class: 4,
        name: "two components exposing the same host and path",
        config: (files) => apps({ spec: files.ruoyi("expose-twice.yaml", (spec) => (admin(spec).expose = { port: "http", host: "ruoyi.example.com", path: "/" })) }),
        problems: (files) => [`${files.rel("expose-twice.yaml")}: components[1].expose: host "ruoyi.example.com" with path "/" is already exposed by ruoyi/ruoyi-ui; give each exposed component its own host or path`],
    },
    {
        class: 4,
        name: "two apps exposing the same host and path (trailing slash aside)",
        config: (files) =>
            apps(
                { spec: files.ruoyi("expose-a.yaml", (spec) => (ui(spec).expose.path = "/shop/")) },
                { spec: files.ruoyi("expose-b.yaml", (spec) => ((spec.name = "shop"), (spec.namespace = "shop"), (ui(spec).expose.path = "/shop"))) },
            ),
        problems: (files) => [`${files.rel("expose-b.yaml")}: components[0].expose: host "ruoyi.example.com" with path "/shop" is already exposed by ruoyi/ruoyi-ui; give each exposed component its own host or path`],
    },
    {
        class: 4,
        name: "a placeholder with an unknown format ({{ ruoyi-admin.http.uri }})",
        config: (files) => apps({ spec: files.ruoyi("placeholder-uri.yaml", (spec) => (ui(spec).configFiles[0].content = ui(spec).configFiles[0].content.replace("{{ ruoyi-admin.http.url }}", "{{ ruoyi-admin.http.uri }}"))) }),
        problems: (files) => [
            `${files.rel("placeholder-uri.yaml")}: components[0].configFiles[0].content: placeholder "{{ ruoyi-admin.http.uri }}" has no known format "uri"; end it in .host, .port, .address or .url, e.g. "{{ component.port.url }}"`,
        ],
    },
    {
        class: 4,
        name: "a CPU request above its limit",
        config: (files) => apps({ spec: files.ruoyi("request-limit.yaml", (spec) => (admin(spec).resources = { requests: { cpu: "2" }, limits: { cpu: "1500m" } })) }),
        problems: (files) => [`${files.rel("request-limit.yaml")}: components[1].resources.requests.cpu: "2" is more than the limit "1500m"; a request must not exceed its limit (Kubernetes refuses the pod)`],
    },
    {
        class: 4,
        name: "a memory quantity in words",
        config: (files) => apps({ spec: files.ruoyi("quantity-words.yaml", (spec) => (admin(spec).resources.limits.memory = "1 gigabyte")) }),
        problems: (files) => [`${files.rel("quantity-words.yaml")}: components[1].resources.limits.memory: "1 gigabyte" is not a Kubernetes quantity; use a number with an optional suffix, such as "500m", "256Mi" or "10Gi"`],
    },
    {
        class: 4,
        name: "a StorageClass name Kubernetes refuses",
        config: (files) => apps({ spec: files.ruoyi("storage-class.yaml", (spec) => (mysql(spec).storage.storageClass = "Fast_SSD")) }),
        problems: (files) => [`${files.rel("storage-class.yaml")}: components[2].storage.storageClass: "Fast_SSD" is not a DNS name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 4,
        name: "a version label value with a slash",
        config: (files) => apps({ spec: files.ruoyi("version-label.yaml", (spec) => (admin(spec).version = "v1/beta")) }),
        problems: (files) => [
            `${files.rel("version-label.yaml")}: components[1].version: "v1/beta" is not a label value; use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters`,
        ],
    },
    {
        class: 4,
        name: "a namespace of 64 characters",
        config: (files) => apps({ spec: files.ruoyi("namespace-long.yaml", (spec) => (spec.namespace = "n".repeat(64))) }),
        problems: (files) => [`${files.rel("namespace-long.yaml")}: namespace: "${"n".repeat(60)}…" (64 characters) is not a DNS-1123 label; use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`],
    },
    {
        class: 4,
        name: "an IngressClass name Kubernetes refuses",
        config: () => ({ ...ruoyi(), "pluggable-mesh:ingressClassName": "Nginx Public" }),
        problems: () => [`pluggable-mesh:ingressClassName: "Nginx Public" is not a DNS name; ${DNS_NAME_ALLOWED}`],
    },
    {
        class: 4,
        name: "a Linkerd namespace that is not a DNS label",
        config: () => ({ ...ruoyi(), "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing", namespace: "linkerd." }) }),
        problems: () => [`pluggable-mesh:linkerd.namespace: "linkerd." is not a DNS-1123 label; use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`],
    },

    // ── Class 5: takeover and shared ownership of namespaces ───────────────────────────────────
    ...["kube-system", "kube-public", "kube-node-lease", "default", "kube-flannel", "istio-system", "linkerd"].map(
        (namespace): HostileCase => ({
            class: 5,
            name: `an app in the ${namespace} namespace`,
            config: (files) => apps({ spec: files.ruoyi(`ns-${namespace}.yaml`, (spec) => (spec.namespace = namespace)) }),
            problems: (files) => [`${files.rel(`ns-${namespace}.yaml`)}: namespace: ${SYSTEM_NAMESPACE(namespace)}`],
        }),
    ),
    {
        class: 5,
        name: "an app in the stack's own Istio namespace",
        config: (files) => ({ ...apps({ spec: files.ruoyi("ns-mesh.yaml", (spec) => (spec.namespace = "mesh-system")) }), ...istio({ namespace: "mesh-system" }) }),
        problems: (files) => [`${files.rel("ns-mesh.yaml")}: namespace: ${SYSTEM_NAMESPACE("mesh-system", ", mesh-system")}`],
    },
    {
        class: 5,
        name: "an app named after a system namespace (its default namespace)",
        config: (files) => apps({ spec: files.write("ns-by-name.yaml", "name: kube-dns\ncomponents:\n  - name: web\n    image: nginx:1.27.3\n") }),
        problems: (files) => [`${files.rel("ns-by-name.yaml")}: name: ${SYSTEM_NAMESPACE("kube-dns")}`],
    },
    {
        class: 5,
        name: "two apps that both create one namespace",
        config: (files) =>
            apps(
                { spec: RUOYI_SPEC },
                { spec: files.write("ns-shared.yaml", "name: shop\nnamespace: ruoyi\ncomponents:\n  - name: shop-web\n    image: nginx:1.27.3\n") },
            ),
        problems: (files) => [`${files.rel("ns-shared.yaml")}: createNamespace: namespace "ruoyi" is already created by app "ruoyi"; a shared namespace has one owner, so set createNamespace: false here`],
    },

    {
        class: 5,
        name: "an Istio control plane that would create (own) kube-system",
        config: () => ({ ...ruoyi(), ...istio({ namespace: "kube-system" }) }),
        problems: () => ['pluggable-mesh:istio.namespace: "kube-system" belongs to Kubernetes; the control plane would own and could delete it, so choose another namespace or set pluggable-mesh:istio.createNamespace to false'],
    },

    // ── Class 6: one trust domain for istiod and every principal ───────────────────────────────
    ...["*", "evil.com/../x y", "Example.org", "corp..example", "-corp.example"].map(
        (trustDomain): HostileCase => ({
            class: 6,
            name: `a trust domain ${JSON.stringify(trustDomain)}`,
            config: () => ({ ...ruoyi(), ...istio(), "pluggable-mesh:mode": "istio", "pluggable-mesh:trustDomain": trustDomain }),
            problems: () => [`pluggable-mesh:trustDomain: ${JSON.stringify(trustDomain)} is not a DNS name; ${DNS_NAME_ALLOWED}`],
        }),
    ),

    // ── Class 8: unknown keys ──────────────────────────────────────────────────────────────────
    {
        class: 8,
        name: "a near-miss top-level key (obervability)",
        config: () => ({ ...ruoyi(), "pluggable-mesh:obervability": JSON.stringify({ enabled: false }) }),
        problems: () => [`pluggable-mesh:obervability: is not a setting of this project; did you mean "observability"? use one of ${KNOWN_KEYS()}`],
    },
    {
        class: 8,
        name: "a top-level key in another case (TrustDomain)",
        config: () => ({ ...ruoyi(), "pluggable-mesh:TrustDomain": "corp.example" }),
        problems: () => [`pluggable-mesh:TrustDomain: is not a setting of this project; did you mean "trustDomain"? use one of ${KNOWN_KEYS()}`],
    },
    {
        class: 8,
        name: "a bare key that Pulumi put under our namespace (pluggable-mesh.mode)",
        config: () => ({ ...ruoyi(), "pluggable-mesh:pluggable-mesh.mode": "istio" }),
        problems: () => [`pluggable-mesh:pluggable-mesh.mode: is not a setting of this project; did you mean "mode"? use one of ${KNOWN_KEYS()}`],
    },
    {
        class: 8,
        name: "a top-level key close to nothing",
        config: () => ({ ...ruoyi(), "pluggable-mesh:colour": "blue" }),
        problems: () => [`pluggable-mesh:colour: is not a setting of this project; use one of ${KNOWN_KEYS()}`],
    },
    {
        class: 8,
        name: "a nested unknown field (observability.enabeld)",
        config: () => ({ ...ruoyi(), "pluggable-mesh:observability": JSON.stringify({ enabeld: true }) }),
        problems: () => ['pluggable-mesh:observability: unknown field "enabeld" (did you mean "enabled"?); allowed fields: enabled, kialiAuth, kialiExposure, kialiHost'],
    },
    {
        class: 8,
        name: "a nested unknown field two levels down (istio.gateway.enable)",
        config: () => ({ ...ruoyi(), ...istio({ gateway: { enable: true } }) }),
        problems: () => ['pluggable-mesh:istio.gateway: unknown field "enable" (did you mean "enabled"?); allowed fields: enabled, serviceType'],
    },
    {
        class: 8,
        name: "an unknown field in an app's list entry (apps[0].modes)",
        config: () => ({ "pluggable-mesh:apps": JSON.stringify([{ spec: RUOYI_SPEC, modes: "istio" }]) }),
        problems: () => ['pluggable-mesh:apps[0]: unknown field "modes" (did you mean "mode"?); allowed fields: spec, mode'],
    },
    {
        class: 8,
        name: "a near-miss field at the top of an app spec (namspace)",
        config: (files) => apps({ spec: files.ruoyi("namspace.yaml", (spec) => ((spec.namspace = spec.namespace), delete spec.namespace)) }),
        problems: (files) => [`${files.rel("namspace.yaml")}: (top level): unknown field "namspace" (did you mean "namespace"?); allowed fields: ${specFields()}`],
    },
    {
        class: 8,
        name: "a near-miss field in a port (protocl)",
        config: (files) => apps({ spec: files.ruoyi("protocl.yaml", (spec) => (spec.components[3].ports[0] = { name: "redis", port: 6379, protocl: "tcp" })) }),
        problems: (files) => [`${files.rel("protocl.yaml")}: components[3].ports[0]: unknown field "protocl" (did you mean "protocol"?); allowed fields: name, port, targetPort, protocol`],
    },
    {
        class: 8,
        name: "a near-miss field in a traffic policy (timout)",
        config: (files) => apps({ spec: files.ruoyi("timout.yaml", (spec) => (spec.traffic = { timout: "10s" })) }),
        problems: (files) => [`${files.rel("timout.yaml")}: traffic: unknown field "timout" (did you mean "timeout"?); allowed fields: timeout, connectTimeout, retries, circuitBreaker`],
    },
];
