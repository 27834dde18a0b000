import { z } from "zod";
import { DNS_1035_LABEL, IANA_SERVICE_NAME, MAX_INT32, dnsLabel, dnsSubdomain, envVarName as envVarNameRule, fileMountPath, hostName, imageReference, labelValue, mountPath, quantity as quantityRule, ruleString } from "./syntax";
import { given } from "./userText";
import { PROTOCOLS, RETRY_CONDITIONS, type TrafficPolicy } from "./policy";

/**
 * The app spec: what a team writes (in YAML under `stacks/apps/`, or in TypeScript) to describe an
 * app, independent of any mesh. This zod schema is the single source of its types and defaults.
 */

/** Every governance mode a stack or app may choose; the mode registry must have exactly these keys. */
export const MODE_NAMES = ["native", "envoy", "istio", "linkerd"] as const;
export type ModeName = (typeof MODE_NAMES)[number];

export const modeSchema = z.enum(MODE_NAMES, {
    error: (issue) => `${given(issue.input)} is not a mode; use one of ${MODE_NAMES.join(", ")}`,
});

/** Ports reserved for sidecars (Istio's proxy uses 15000-15090, our envoy sidecar the same range). */
export const RESERVED_PORTS = { from: 15000, to: 15099 } as const;

/** The longest component name whose companion headless Service name (`<name>-headless`) still fits 63 characters. */
export const MAX_COMPONENT_NAME_LENGTH = 63 - "-headless".length;

/** A duration as people write it ("15s", "250ms", "2m"), parsed to milliseconds. */
const duration = z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m)$/, { error: (issue) => `expected a duration such as "250ms", "15s" or "2m", given ${given(issue.input)}` })
    .transform((text) => {
        const [, amount, unit] = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text)!;
        const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000;
        return Math.round(Number(amount) * factor);
    });

const positiveInt = z.number().int().min(1);

/** Traffic policy defaults: the one place they are written down. */
export const TRAFFIC_DEFAULTS: TrafficPolicy = {
    timeoutMs: 15_000,
    connectTimeoutMs: 5_000,
    retries: { attempts: 2, perTryTimeoutMs: 5_000, retryOn: ["connect-failure", "refused-stream", "reset", "unavailable", "cancelled"] },
    circuitBreaker: {
        maxConnections: 1024,
        maxPendingRequests: 1024,
        maxRequests: 1024,
        consecutiveErrors: 5,
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        maxEjectionPercent: 50,
    },
};

/** A partial traffic policy, as written in YAML; merged onto the app's and then the defaults. */
export const trafficSchema = z.strictObject({
    /** Whole-request timeout including retries. @default "15s" */
    timeout: duration.optional(),
    /** Connect timeout. @default "5s" */
    connectTimeout: duration.optional(),
    retries: z
        .strictObject({
            /** @default 2 */
            attempts: z.number().int().min(0).max(10).optional(),
            /** @default "5s" */
            perTryTimeout: duration.optional(),
            /** @default connect-failure, refused-stream, reset, unavailable, cancelled */
            /** Envoy's vocabulary, which Istio shares; envoy would silently ignore an unknown word, so it is refused here. */
            retryOn: z
                .array(z.enum(RETRY_CONDITIONS as [string, ...string[]], { error: (issue) => `${given(issue.input)} is not a retry condition; use one of ${RETRY_CONDITIONS.join(", ")}` }))
                .min(1)
                .optional(),
        })
        .optional(),
    circuitBreaker: z
        .strictObject({
            maxConnections: positiveInt.optional(),
            maxPendingRequests: positiveInt.optional(),
            maxRequests: positiveInt.optional(),
            consecutiveErrors: positiveInt.optional(),
            interval: duration.optional(),
            baseEjectionTime: duration.optional(),
            maxEjectionPercent: z.number().int().min(0).max(100).optional(),
        })
        .optional(),
});
export type TrafficSpec = z.infer<typeof trafficSchema>;

/** Merges partial traffic specs (later ones win) onto the defaults. */
export function resolveTraffic(...specs: (TrafficSpec | undefined)[]): TrafficPolicy {
    const policy: TrafficPolicy = structuredClone(TRAFFIC_DEFAULTS);
    for (const spec of specs) {
        if (!spec) continue;
        policy.timeoutMs = spec.timeout ?? policy.timeoutMs;
        policy.connectTimeoutMs = spec.connectTimeout ?? policy.connectTimeoutMs;
        const retries = spec.retries ?? {};
        policy.retries = {
            attempts: retries.attempts ?? policy.retries.attempts,
            perTryTimeoutMs: retries.perTryTimeout ?? policy.retries.perTryTimeoutMs,
            retryOn: retries.retryOn ?? policy.retries.retryOn,
        };
        const breaker = spec.circuitBreaker ?? {};
        policy.circuitBreaker = {
            maxConnections: breaker.maxConnections ?? policy.circuitBreaker.maxConnections,
            maxPendingRequests: breaker.maxPendingRequests ?? policy.circuitBreaker.maxPendingRequests,
            maxRequests: breaker.maxRequests ?? policy.circuitBreaker.maxRequests,
            consecutiveErrors: breaker.consecutiveErrors ?? policy.circuitBreaker.consecutiveErrors,
            intervalMs: breaker.interval ?? policy.circuitBreaker.intervalMs,
            baseEjectionTimeMs: breaker.baseEjectionTime ?? policy.circuitBreaker.baseEjectionTimeMs,
            maxEjectionPercent: breaker.maxEjectionPercent ?? policy.circuitBreaker.maxEjectionPercent,
        };
    }
    return policy;
}

const portSchema = z.strictObject({
    /** Port name, an IANA service name (≤15 characters); also the container port name. */
    name: z.string().max(15).regex(IANA_SERVICE_NAME, { error: (issue) => `expected a port name of lowercase letters, digits and single dashes (≤15 characters), given ${given(issue.input)}` }),
    /** Port of the Service, the one callers use. */
    port: z.number().int().min(1).max(65535),
    /** Port the container listens on. @default the same as `port` */
    targetPort: z.number().int().min(1).max(65535).optional(),
    /** Application protocol. @default "http" */
    protocol: z.enum(PROTOCOLS).default("http"),
});

/** How a dependency's address is written into a variable the app already reads. */
export const ADDRESS_FORMATS = ["host", "port", "address", "url"] as const;
export type AddressFormat = (typeof ADDRESS_FORMATS)[number];

const envVarName = ruleString(envVarNameRule);

/** `component`, `component:port`, `otherApp/component` or `otherApp/component:port`. */
const DEPENDENCY_REF = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/)?([a-z]([-a-z0-9]*[a-z0-9])?)(?::([a-z0-9-]+))?$/;

// At most an app name (40), a component name (54), a port name (15) and the separators.
const dependencyTarget = z.string().max(111).regex(DEPENDENCY_REF, {
    error: (issue) => `expected "component", "component:port", "app/component" or "app/component:port", given ${given(issue.input)}`,
});

const dependencySchema = z.union([
    dependencyTarget,
    z.strictObject({
        /** The component depended on: `component`, `component:port`, `app/component` or `app/component:port`. */
        target: dependencyTarget,
        /** Extra variables the app already reads, each mapped to an address format. @default {} */
        env: z.record(envVarName, z.enum(ADDRESS_FORMATS)).default({}),
    }),
]);

const quantity = ruleString(quantityRule);
const resourceList = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });

const probeSchema = z.strictObject({
    /** Port name to probe. */
    port: z.string(),
    /** HTTP path; a TCP probe when absent. */
    path: z.string().startsWith("/").optional(),
    /** @default 5 */
    initialDelaySeconds: z.number().int().min(0).max(MAX_INT32).default(5),
    /** @default 10 */
    periodSeconds: z.number().int().min(1).max(MAX_INT32).default(10),
});

const componentSchema = z.strictObject({
    /** Internal domain name: the Service name, a DNS-1035 label unique in the namespace. */
    name: z
        .string()
        .max(MAX_COMPONENT_NAME_LENGTH)
        .regex(DNS_1035_LABEL, { error: (issue) => `expected a DNS-1035 label (lowercase letters, digits, dashes; starts with a letter), given ${given(issue.input)}` }),
    /** Container image, pinned by tag or digest. */
    image: ruleString(imageReference),
    /** Container command (entrypoint override). */
    command: z.array(z.string()).optional(),
    /** Container arguments. */
    args: z.array(z.string()).optional(),
    /** Pod replicas. @default 1 */
    replicas: z.number().int().min(0).max(MAX_INT32).default(1),
    /** Version label (Kiali groups workloads by app and version). @default "v1" */
    version: ruleString(labelValue).min(1).default("v1"),
    /** Ports the component serves. @default [] */
    ports: z.array(portSchema).default([]),
    /** Plain environment variables. @default {} */
    env: z.record(envVarName, z.string()).default({}),
    /** Components this one calls. @default [] */
    dependsOn: z.array(dependencySchema).default([]),
    /** Files mounted read-only into the container; `{{ dep.port.format }}` placeholders are resolved per mode. @default [] */
    configFiles: z
        .array(
            z.strictObject({
                /** Absolute path of the file in the container (a mount path: not under /var/run/secrets, no '..'). */
                path: ruleString(fileMountPath),
                content: z.string(),
            }),
        )
        .default([]),
    /** Resource requests and limits. */
    resources: z.strictObject({ requests: resourceList.optional(), limits: resourceList.optional() }).optional(),
    /**
     * Why this component cannot run under the restricted Pod Security Standard (for example "the
     * upstream image starts as root to chown its data directory"). Given, the pod keeps only the
     * RuntimeDefault seccomp profile and carries the reason in the `pluggable-mesh.io/security-exemption`
     * annotation, which the policy pack accepts. @default restricted: non-root, no privilege escalation, no capabilities
     */
    securityExemption: z
        .string()
        .regex(/^[^\r\n]{10,200}$/, { error: (issue) => `expected one line of 10 to 200 characters saying why the component cannot run restricted, given ${given(issue.input)}` })
        .optional(),
    /** Readiness probe. */
    readiness: probeSchema.optional(),
    /** Liveness probe. */
    liveness: probeSchema.optional(),
    /** Persistent storage: makes the component a StatefulSet with a volume claim per replica. */
    storage: z
        .strictObject({
            size: quantity,
            mountPath: ruleString(mountPath),
            /** @default the cluster's default StorageClass */
            storageClass: ruleString(dnsSubdomain).optional(),
        })
        .optional(),
    /** Exposes one port outside the cluster (Ingress, or the Istio ingress gateway in istio mode). */
    expose: z
        .strictObject({
            port: z.string(),
            /** Host name callers use: a DNS name (no empty label). */
            host: ruleString(hostName),
            /** URL path prefix. @default "/" */
            path: z.string().regex(/^\/[^\s{}|\\^`"<>]*$/, { error: (issue) => `expected a URL path starting with '/' (no spaces or quotes), given ${given(issue.input)}` }).default("/"),
        })
        .optional(),
    /** Traffic policy for callers of this component, merged onto the app's. */
    traffic: trafficSchema.optional(),
});

export const appSpecSchema = z.strictObject({
    /** App name: a DNS-1123 label; prefixes Pulumi resource names. */
    name: z.string().max(40).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: (issue) => `expected a DNS-1123 label, given ${given(issue.input)}` }),
    /** Namespace (the article's "team"). @default the app name */
    namespace: ruleString(dnsLabel).optional(),
    /** Create the namespace. @default true */
    createNamespace: z.boolean().default(true),
    /** Governance mode; overrides the stack's. @default the stack's `mode` */
    mode: modeSchema.optional(),
    /** mTLS between the app's workloads where the mode supports it. @default the stack's */
    mtls: z.enum(["STRICT", "PERMISSIVE"]).optional(),
    /** Traffic policy applied to every component unless overridden. */
    traffic: trafficSchema.optional(),
    components: z.array(componentSchema).min(1),
});

/** An app spec as written (before defaults). */
export type AppSpecInput = z.input<typeof appSpecSchema>;
/** An app spec with defaults applied. */
export type AppSpec = z.output<typeof appSpecSchema>;
export type ComponentSpec = AppSpec["components"][number];
export type PortSpec = ComponentSpec["ports"][number];
export type DependencySpec = ComponentSpec["dependsOn"][number];

/** Splits a dependency reference into its parts. */
export function parseDependencyRef(ref: string): { app?: string; component: string; port?: string } {
    const match = DEPENDENCY_REF.exec(ref)!;
    return { app: match[1], component: match[3]!, port: match[5] };
}
