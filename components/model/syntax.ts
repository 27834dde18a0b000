import * as posixPath from "node:path/posix";
import { z } from "zod";
import { given } from "./userText";

/**
 * The one place for the syntax rules that the stack schema, the app spec schema and the components
 * share. Each rule is a function from a value to what is wrong with it (a message that names the
 * clipped value and what is allowed) or undefined when it is fine. The limits are Kubernetes' own,
 * from `k8s.io/apimachinery/pkg/util/validation` and `pkg/apis/core/validation` (cited per rule).
 */

/** A rule: undefined when the value is fine, else a message naming the (clipped) value and what is allowed. */
export type SyntaxRule = (value: string) => string | undefined;

/** Longest DNS-1123 label (a namespace or most object names): 63 characters. */
export const MAX_LABEL_LENGTH = 63;
/** Longest DNS-1123 subdomain (a host name, a ConfigMap key): 253 characters. */
export const MAX_SUBDOMAIN_LENGTH = 253;
/** Largest int32 (replicas, probe seconds): Kubernetes' API fields are int32. */
export const MAX_INT32 = 2_147_483_647;
/** ConfigMap and Secret data, keys and values together: 1 MiB (`core.MaxSecretSize`). */
export const MAX_CONFIG_MAP_BYTES = 1024 * 1024;
/** All annotations of an object together: 256 KiB (`TotalAnnotationSizeLimitB`). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** A DNS-1123 label: lowercase letters, digits and '-', starting and ending alphanumeric. */
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1035 label: what a Service name (a component's internal domain name) must be. */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** An IANA service name: what a container port name must be (≤15 characters, at least one letter). */
export const IANA_SERVICE_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$/;
/** A DNS-1123 subdomain: dot-separated DNS-1123 labels, none empty. */
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A label value (and the name part of a label key): alphanumeric at both ends, '-', '_' and '.' inside. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const dnsLabel: SyntaxRule = (value) =>
    DNS_1123_LABEL.test(value) && value.length <= MAX_LABEL_LENGTH
        ? undefined
        : `${given(value)} is not a DNS-1123 label; use lowercase letters, digits and '-', starting and ending with a letter or digit, at most ${MAX_LABEL_LENGTH} characters`;

export const dns1035Label: SyntaxRule = (value) =>
    DNS_1035_LABEL.test(value) && value.length <= MAX_LABEL_LENGTH
        ? undefined
        : `${given(value)} is not a DNS-1035 label; use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit, at most ${MAX_LABEL_LENGTH} characters`;

/** A DNS name: dot-separated DNS-1123 labels (no empty label, so no leading, trailing or double dot), at most 253 characters. */
export const dnsSubdomain: SyntaxRule = (value) =>
    DNS_1123_SUBDOMAIN.test(value) && value.length <= MAX_SUBDOMAIN_LENGTH && value.split(".").every((label) => label.length <= MAX_LABEL_LENGTH)
        ? undefined
        : `${given(value)} is not a DNS name; use dot-separated labels of lowercase letters, digits and '-' (none empty, each at most ${MAX_LABEL_LENGTH} characters), at most ${MAX_SUBDOMAIN_LENGTH} characters, e.g. "app.example.com"`;

/** A host name callers reach from outside (Ingress and Istio Gateway hosts): a DNS name with at least two labels. */
export const hostName: SyntaxRule = (value) => {
    const problem = dnsSubdomain(value);
    if (problem) return problem.replace("is not a DNS name", "is not a host name");
    return undefined;
};

/** An IPv4 address in dotted-quad form, each part 0-255 without leading zeros (which some resolvers read as octal). */
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True when a value is an IPv4 address as {@link externalHost} accepts it. */
export function isIpv4(value: string): boolean {
    return IPV4.test(value);
}

/**
 * IPv4 ranges that never name a service outside the pod (RFC 6890): "this network", loopback (in
 * envoy mode 127.0.0.1 is the sidecar itself), link-local (169.254.169.254 is the cloud metadata
 * service: a spec must not route to it), multicast and the reserved block with broadcast.
 */
const NOT_A_SERVICE_IPV4: readonly [first: number, last: number, what: string][] = [
    [0, 0, "the unspecified network 0.0.0.0/8"],
    [127, 127, "loopback 127.0.0.0/8 (the pod itself)"],
    [224, 255, "multicast or reserved (224.0.0.0/3)"],
];

/**
 * The host of an external dependency: a fully qualified DNS name (at least two labels, so the pod's
 * search domains never turn it into an in-cluster name) or an IPv4 address. Refused: names inside
 * the cluster (`*.svc`, `*.svc.<domain>`, `*.cluster.local`: depend on the component instead),
 * `localhost`, loopback, link-local (the metadata service), multicast and reserved addresses, and
 * IPv6 literals (not supported yet: URLs would need brackets).
 */
export const externalHost: SyntaxRule = (value) => {
    const allowed = "use a fully qualified DNS name such as \"db.example.com\" or an IPv4 address such as \"10.20.0.5\"";
    if (value.includes(":")) return `${given(value)} is an IPv6 address or has a port; IPv6 is not supported and the port belongs in ports, so ${allowed}`;
    if (/^[\d.]+$/.test(value)) {
        if (!isIpv4(value)) return `${given(value)} is not an IPv4 address (four parts 0-255, no leading zeros); ${allowed}`;
        const [first, second] = value.split(".").map(Number) as [number, number];
        if (first === 169 && second === 254) return `${given(value)} is link-local 169.254.0.0/16 (the cloud metadata service lives there), not a service; ${allowed}`;
        const range = NOT_A_SERVICE_IPV4.find(([low, high]) => first >= low && first <= high);
        if (range) return `${given(value)} is ${range[2]}, not a service outside the cluster; ${allowed}`;
        return undefined;
    }
    const problem = dnsSubdomain(value);
    if (problem) return `${problem.replace("is not a DNS name", "is not a host name")}`;
    if (!value.includes(".")) return `${given(value)} is a single label, which the pod's DNS search domains would resolve inside the cluster; ${allowed}`;
    const labels = value.split(".");
    if (labels.at(-1) === "localhost" || value === "localhost") return `${given(value)} is the pod itself, not a service outside the cluster; ${allowed}`;
    if (labels.includes("svc") || value.endsWith(".cluster.local")) {
        return `${given(value)} is a name inside the cluster; depend on the component itself (dependsOn: app/component) instead of an external`;
    }
    return undefined;
};

/** A label value: at most 63 characters, alphanumeric at both ends, '-', '_' and '.' inside (or empty). */
export const labelValue: SyntaxRule = (value) =>
    LABEL_VALUE.test(value) && value.length <= MAX_LABEL_LENGTH
        ? undefined
        : `${given(value)} is not a label value; use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most ${MAX_LABEL_LENGTH} characters`;

/** A label (or annotation) key: an optional DNS-subdomain prefix and '/', then a name like a label value (not empty). */
export const labelKey: SyntaxRule = (value) => {
    const slash = value.lastIndexOf("/");
    const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
    const name = value.slice(slash + 1);
    const nameOk = name.length > 0 && name.length <= MAX_LABEL_LENGTH && LABEL_VALUE.test(name);
    const prefixOk = prefix === undefined || dnsSubdomain(prefix) === undefined;
    return nameOk && prefixOk ? undefined : `${given(value)} is not a label key; use [prefix/]name, the prefix a DNS name, the name at most ${MAX_LABEL_LENGTH} letters, digits, '-', '_' or '.'`;
};

/** A ConfigMap key (`IsConfigMapKey`): letters, digits, '-', '_' and '.', not "." or "..", at most 253 characters. */
export const configMapKey: SyntaxRule = (value) =>
    /^[-._a-zA-Z0-9]+$/.test(value) && value.length <= MAX_SUBDOMAIN_LENGTH && value !== "." && value !== ".." && !value.startsWith("..")
        ? undefined
        : `${given(value)} is not a ConfigMap key; use letters, digits, '-', '_' and '.', at most ${MAX_SUBDOMAIN_LENGTH} characters`;

/**
 * An environment variable name as every supported Kubernetes accepts it (`IsEnvVarName`:
 * `[-._a-zA-Z][-._a-zA-Z0-9]*`). `__proto__` is refused too: as a key of a JavaScript object it is
 * silently dropped, so the variable would never reach the container.
 */
export const envVarName: SyntaxRule = (value) => {
    if (value === "__proto__") return `${given(value)} cannot be a variable name here (a JavaScript object drops it silently); choose another name`;
    return /^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(value)
        ? undefined
        : `${given(value)} is not an environment variable name; use letters, digits, '_', '-' and '.', not starting with a digit`;
};

// The OCI reference grammar of github.com/distribution/reference (regexp.go), which container runtimes parse image names with.
const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const IMAGE_REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::${TAG})?(?:@${DIGEST})?$`);
/** Longest repository name (`NameTotalLengthMax`). */
const MAX_IMAGE_NAME_LENGTH = 255;

/** An OCI image reference: `[registry[:port]/]repository[:tag][@digest]`. */
export const imageReference: SyntaxRule = (value) => {
    const match = IMAGE_REFERENCE.exec(value);
    return match && match[1]!.length <= MAX_IMAGE_NAME_LENGTH
        ? undefined
        : `${given(value)} is not an image reference; use [registry/]repository[:tag][@digest] in lowercase, e.g. "docker.io/library/redis:7.4.2"`;
};

// apimachinery resource.Quantity: a decimal number, then a binary suffix, a decimal suffix or an exponent.
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const QUANTITY_FACTORS: Record<string, number> = {
    "": 1,
    n: 1e-9,
    u: 1e-6,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
};

/** A Kubernetes quantity's value ("500m" → 0.5, "1Gi" → 1073741824); undefined when it is not a non-negative quantity. */
export function parseQuantity(value: string): number | undefined {
    const match = QUANTITY.exec(value);
    if (!match) return undefined;
    const suffix = match[2] ?? "";
    const factor = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : QUANTITY_FACTORS[suffix]!;
    return Number(match[1]) * factor;
}

/** A non-negative Kubernetes quantity, such as "500m", "256Mi" or "10Gi". */
export const quantity: SyntaxRule = (value) =>
    parseQuantity(value) !== undefined ? undefined : `${given(value)} is not a Kubernetes quantity; use a number with an optional suffix, such as "500m", "256Mi" or "10Gi"`;

/** Where Kubernetes mounts ServiceAccount tokens (and Istio its credentials); a file there would shadow them. */
const RESERVED_MOUNT_ROOTS = ["/var/run/secrets", "/run/secrets"];

/** A path as the container sees it, normalised (`/a/./b/` → `/a/b`), for comparing mount points. */
export function normalMountPath(value: string): string {
    const normal = posixPath.normalize(value);
    return normal.length > 1 ? normal.replace(/\/+$/, "") : normal;
}

/**
 * A container mount path: absolute, without '..' segments, ':' or NUL, not `/` itself and not
 * under /var/run/secrets (the ServiceAccount token and Istio's credentials live there).
 */
export const mountPath: SyntaxRule = (value) => {
    const allowed = "use an absolute path without '..' segments, ':' or NUL, not '/' and not under /var/run/secrets";
    if (!value.startsWith("/") || value.includes("\0") || value.includes(":") || value.split("/").includes("..")) return `${given(value)} is not an allowed mount path; ${allowed}`;
    const normal = normalMountPath(value);
    if (normal === "/") return `${given(value)} would mount over the container's root; ${allowed}`;
    if (RESERVED_MOUNT_ROOTS.some((root) => normal === root || normal.startsWith(`${root}/`))) {
        return `${given(value)} is under /var/run/secrets, where Kubernetes mounts ServiceAccount tokens; ${allowed}`;
    }
    return undefined;
};

/** The path of a file mounted into a container: a {@link mountPath} that names a file (not ending in '/'). */
export const fileMountPath: SyntaxRule = (value) => (value.endsWith("/") ? `${given(value)} is a folder; give the path of a file (not ending in '/')` : mountPath(value));

/** A file path under a mount point (a ConfigMap item's `path`): relative, without '..' segments or NUL, naming a file. */
export const relativeFilePath: SyntaxRule = (value) =>
    value.length > 0 && value.length <= MAX_SUBDOMAIN_LENGTH && !value.startsWith("/") && !value.endsWith("/") && !value.includes("\0") && !value.split("/").includes("..")
        ? undefined
        : `${given(value)} is not a relative file path; use a path without a leading '/', '..' segments or NUL, naming a file, at most ${MAX_SUBDOMAIN_LENGTH} characters`;

/** An IPv4 range in CIDR notation ("203.0.113.0/24"), its address without host bits beyond the prefix. */
export const ipv4Cidr: SyntaxRule = (value) => {
    const [address, bits, extra] = value.split("/");
    const prefix = Number(bits);
    const shape = extra === undefined && address !== undefined && isIpv4(address) && bits !== undefined && /^(0|[1-9]\d?)$/.test(bits) && prefix <= 32;
    if (!shape) return `${given(value)} is not an IPv4 CIDR; use an address and a prefix length, such as "203.0.113.0/24"`;
    const number = address.split(".").reduce((sum, part) => sum * 256 + Number(part), 0);
    const hostBits = prefix === 32 ? 0 : number % 2 ** (32 - prefix);
    return hostBits === 0 ? undefined : `${given(value)} has host bits set beyond /${prefix}; give the network address of the range`;
};

/** One part of a Pulumi stack reference (organization, project or stack): Pulumi's own character set, never a path step. */
const STACK_NAME_PART = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * A stack another stack reads (`StackReference`): a stack name of the same project (`fleet`) or a
 * fully qualified `org/project/stack`. A part of `.` or `..` is refused: the file backend keeps stacks
 * as files named after them.
 */
export const stackReferenceName: SyntaxRule = (value) => {
    const parts = value.split("/");
    const valid = (parts.length === 1 || parts.length === 3) && parts.every((part) => STACK_NAME_PART.test(part) && part !== "." && part !== "..");
    return valid
        ? undefined
        : `${given(value)} is not a stack name; use a stack of this project (letters, digits, '-', '_' and '.', at most 100 characters, e.g. "fleet") or a fully qualified "org/project/stack"`;
};

/** What each shared rule allows, in the words the generated configuration reference shows. */
const RULE_DESCRIPTIONS = new Map<SyntaxRule, string>([
    [dnsLabel, "a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters"],
    [dns1035Label, "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, at most 63 characters"],
    [dnsSubdomain, "a DNS name: dot-separated labels, none empty, each at most 63 characters, at most 253 in all"],
    [hostName, "a host name: dot-separated labels, none empty, each at most 63 characters, at most 253 in all"],
    [externalHost, "a fully qualified DNS name (not inside the cluster) or an IPv4 address (not loopback, link-local or multicast)"],
    [labelValue, "a label value: letters, digits, '-', '_', '.', alphanumeric at both ends, at most 63 characters"],
    [envVarName, "an environment variable name: letters, digits, '_', '-', '.', not starting with a digit"],
    [imageReference, "an OCI image reference: [registry/]repository[:tag][@digest]"],
    [quantity, "a Kubernetes quantity, e.g. 500m, 256Mi, 10Gi"],
    [mountPath, "an absolute path without '..', ':' or NUL, not '/' and not under /var/run/secrets"],
    [fileMountPath, "an absolute file path without '..', ':' or NUL, not under /var/run/secrets, each mounted once"],
    [relativeFilePath, "a relative file path without '..' segments"],
    [ipv4Cidr, "an IPv4 CIDR such as 203.0.113.0/24"],
    [configMapKey, "a ConfigMap key: letters, digits, '-', '_' and '.'"],
    [stackReferenceName, "a stack name of this project (letters, digits, '-', '_', '.') or org/project/stack"],
]);

/** A zod string checked by a rule, so the schemas and the components say the same thing about the same value. */
export function ruleString(rule: SyntaxRule): z.ZodString {
    const checked = z.string().superRefine((value, context) => {
        const problem = rule(value);
        if (problem !== undefined) context.addIssue({ code: "custom", message: problem, input: value });
    });
    // `allowed`, not `description`: a field's own description says what it is for, the rule what it accepts.
    const allowed = RULE_DESCRIPTIONS.get(rule);
    return allowed === undefined ? checked : checked.meta({ allowed });
}
