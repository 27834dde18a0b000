import { z } from "zod";
import { DNS_1035_LABEL, DNS_1123_LABEL, IANA_SERVICE_NAME, MAX_INT32, configMapKey, dnsLabel, ipv4Cidr, relativeFilePath, dnsSubdomain, envVarName as envVarNameRule, externalHost, fileMountPath, hostName, imageReference, labelValue, mountPath, quantity as quantityRule, ruleString } from "./syntax";
import { given } from "./userText";
import { EXTERNAL_PROTOCOLS, PROTOCOLS, RETRY_CONDITIONS, type ExternalProtocol, type TrafficPolicy } from "./policy";
import { autoscalingSchema, componentDefaultsSchema, disruptionBudgetSchema, jobSchema, probeSchema, resourcesSchema, terminationGracePeriodSchema } from "./workloadSpec";

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

/** A default in milliseconds as people write it, for descriptions. */
const shownMs = (ms: number) => JSON.stringify(ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

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
    timeout: duration.optional().describe(`Whole-request timeout, retries included. Default: ${shownMs(TRAFFIC_DEFAULTS.timeoutMs)}.`),
    connectTimeout: duration.optional().describe(`Connect timeout. Default: ${shownMs(TRAFFIC_DEFAULTS.connectTimeoutMs)}.`),
    retries: z
        .strictObject({
            attempts: z.number().int().min(0).max(10).optional().describe(`Retries after the first try. Default: ${TRAFFIC_DEFAULTS.retries.attempts}.`),
            perTryTimeout: duration.optional().describe(`Timeout of each try. Default: ${shownMs(TRAFFIC_DEFAULTS.retries.perTryTimeoutMs)}.`),
            // Envoy's vocabulary, which Istio shares; envoy would silently ignore an unknown word, so it is refused here.
            retryOn: z
                .array(z.enum(RETRY_CONDITIONS as [string, ...string[]], { error: (issue) => `${given(issue.input)} is not a retry condition; use one of ${RETRY_CONDITIONS.join(", ")}` }))
                .min(1)
                .optional()
                .describe(`Conditions that trigger a retry (envoy's retry_on words). Default: ${TRAFFIC_DEFAULTS.retries.retryOn.join(", ")}.`),
        })
        .optional()
        .describe("Retries of failed requests."),
    circuitBreaker: z
        .strictObject({
            maxConnections: positiveInt.optional().describe(`Connections to the component from one caller. Default: ${TRAFFIC_DEFAULTS.circuitBreaker.maxConnections}.`),
            maxPendingRequests: positiveInt.optional().describe(`Requests waiting for a connection. Default: ${TRAFFIC_DEFAULTS.circuitBreaker.maxPendingRequests}.`),
            maxRequests: positiveInt.optional().describe(`Concurrent requests. Default: ${TRAFFIC_DEFAULTS.circuitBreaker.maxRequests}.`),
            consecutiveErrors: positiveInt.optional().describe(`Consecutive errors that eject a pod (outlier detection). Default: ${TRAFFIC_DEFAULTS.circuitBreaker.consecutiveErrors}.`),
            interval: duration.optional().describe(`How often pods are checked for ejection. Default: ${shownMs(TRAFFIC_DEFAULTS.circuitBreaker.intervalMs)}.`),
            baseEjectionTime: duration.optional().describe(`How long a pod stays ejected at first. Default: ${shownMs(TRAFFIC_DEFAULTS.circuitBreaker.baseEjectionTimeMs)}.`),
            maxEjectionPercent: z.number().int().min(0).max(100).optional().describe(`Most pods that may be ejected, in percent. Default: ${TRAFFIC_DEFAULTS.circuitBreaker.maxEjectionPercent}.`),
        })
        .optional()
        .describe("Connection limits and outlier detection."),
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

const portName = z
    .string()
    .max(15)
    .regex(IANA_SERVICE_NAME, { error: (issue) => `expected a port name of lowercase letters, digits and single dashes (≤15 characters), given ${given(issue.input)}` });
const portNumber = z.number().int().min(1).max(65535);

const portSchema = z.strictObject({
    name: portName.describe("Port name, an IANA service name; also the container port's name."),
    port: portNumber.describe("Port of the Service, the one callers use."),
    targetPort: z.number().int().min(1).max(65535).optional().describe("Port the container listens on. Default: the same as port."),
    protocol: z.enum(PROTOCOLS).default("http").describe("Application protocol: decides HTTP routing, retries and appProtocol."),
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
        target: dependencyTarget.describe("The component depended on: `component`, `component:port`, `app/component` or `app/component:port`."),
        env: z.record(envVarName, z.enum(ADDRESS_FORMATS)).default({}).describe("Variables the app already reads, each set to the dependency's host, port, address or url as the mode reaches it."),
    }),
]);

const quantity = ruleString(quantityRule);

// ── Versions and weighted traffic splits (issue #13 §3) ──────────────────────────────────────────

/** The version of a component that declares no `versions`. */
export const DEFAULT_VERSION = "v1";

/** A version name: part of Deployment and Service names and an Istio subset name, so a DNS-1123 label. */
const versionName = z
    .string()
    .max(40)
    .regex(DNS_1123_LABEL, { error: (issue) => `expected a version name: lowercase letters, digits and '-' (a DNS-1123 label, at most 40 characters), given ${given(issue.input)}` });

const versionSchema = z.strictObject({
    name: versionName.describe("Version name, e.g. \"v2\": the workload's app.kubernetes.io/version label, its Deployment `<component>-<name>` and its Istio subset."),
    image: ruleString(imageReference).describe("Container image of this version."),
    replicas: z.number().int().min(0).max(MAX_INT32).optional().describe("Pod replicas of this version. Default: the component's replicas."),
    env: z.record(envVarName, z.string()).default({}).describe("Plain environment variables of this version, over the component's."),
});
export type VersionSpec = z.output<typeof versionSchema>;

/** A component's traffic policy: the app's fields plus a split between its versions. */
const componentTrafficSchema = trafficSchema.extend({
    split: z
        .record(versionName, z.number().int().min(0).max(100))
        .optional()
        .describe(
            "Weighted split of HTTP requests between the component's versions, in percent (summing to 100), e.g. `{ v1: 80, v2: 20 }`; versions left out get none. Default: every pod of every version alike.",
        ),
});

/** A name of a secret value the platform hands the app (stack key `secrets`, GovernedApp's `secrets`); also its key in the Secret we create. */
export const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

const secretName = z.string().regex(SECRET_NAME, {
    error: (issue) => `expected a secret name (a letter, then letters, digits, '_' or '-'; at most 63), given ${given(issue.input)}`,
});

/** Where a secret value comes from: a named Pulumi secret, or a key of a Kubernetes Secret that exists already. */
const secretSourceFields = {
    secret: secretName.optional().describe("Name of a secret value given to the app: the stack's `pluggable-mesh:secrets.<name>` (set with `pulumi config set --secret`), or GovernedApp's `secrets`."),
    secretKeyRef: z
        .strictObject({
            name: ruleString(dnsSubdomain).describe("Name of a Secret in the app's namespace, created outside this program."),
            key: ruleString(configMapKey).describe("Key in that Secret."),
        })
        .optional()
        .describe("A key of an existing Kubernetes Secret in the app's namespace."),
};

/** Exactly one source: the two together would leave which one wins unsaid. */
function oneSecretSource(value: { secret?: string; secretKeyRef?: unknown }, context: z.core.$RefinementCtx): void {
    if ((value.secret === undefined) === (value.secretKeyRef === undefined)) {
        context.addIssue({ code: "custom", message: `expected exactly one of "secret" or "secretKeyRef", given ${value.secret === undefined ? "neither" : "both"}`, input: value });
    }
}

const secretEnvSchema = z.strictObject(secretSourceFields).superRefine(oneSecretSource);
export type SecretSource = z.output<typeof secretEnvSchema>;

const secretFileSchema = z
    .strictObject({ path: ruleString(fileMountPath).describe("Absolute path of the file in the container (not under /var/run/secrets, no '..')."), ...secretSourceFields })
    .superRefine(oneSecretSource);

// ── Volumes beyond `storage` (helper "volumes"): one source per volume; a new source is one more optional key ──

/** The sources a volume may take its content from; each volume names exactly one (checked in the model). */
export const VOLUME_SOURCES = ["emptyDir", "configMap", "claim"] as const;
export type VolumeSource = (typeof VOLUME_SOURCES)[number];

/** The access modes a claim may ask for (PersistentVolumeClaim `accessModes`). */
export const CLAIM_ACCESS_MODES = ["ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany", "ReadWriteMany"] as const;

const volumeSchema = z.strictObject({
    name: ruleString(dnsLabel).describe("Volume name, a DNS-1123 label unique in the component; a claim's PersistentVolumeClaims are named `<name>-<component>-<replica>`."),
    mountPath: ruleString(mountPath).describe("Where the volume is mounted in the app container."),
    emptyDir: z
        .strictObject({
            sizeLimit: quantity.describe("Most the volume may hold (a Kubernetes quantity); the kubelet evicts the pod beyond it."),
            memory: z.boolean().default(false).describe("Backed by memory (tmpfs) instead of the node's disk; counts against the pod's memory limit."),
        })
        .optional()
        .describe("A scratch directory that lives as long as the pod."),
    configMap: z
        .strictObject({
            name: ruleString(dnsSubdomain).describe("An existing ConfigMap in the app's namespace (not created here)."),
            items: z
                .array(
                    z.strictObject({
                        key: ruleString(configMapKey).describe("Key in the ConfigMap."),
                        path: ruleString(relativeFilePath).describe("File name under mountPath (relative, no '..')."),
                    }),
                )
                .min(1)
                .optional()
                .describe("Only these keys, at these paths. Default: every key as a file of its name."),
        })
        .optional()
        .describe("The files of an existing ConfigMap, mounted read-only; a change to it reaches the files in about a minute, without a restart."),
    claim: z
        .strictObject({
            size: quantity.describe("Size of each replica's claim (a Kubernetes quantity)."),
            storageClass: ruleString(dnsSubdomain).optional().describe("StorageClass of the claims. Default: the cluster's default class."),
            accessMode: z.enum(CLAIM_ACCESS_MODES).default("ReadWriteOnce").describe("Access mode of the claims."),
        })
        .optional()
        .describe("A PersistentVolumeClaim per replica, as with `storage`: makes the component a StatefulSet. Adding, changing or removing a claim replaces the StatefulSet (its claims stay)."),
});
export type VolumeSpec = z.infer<typeof volumeSchema>;

// ── Exposure without a host name (helper "volumes") ──

/** Service types that publish ports outside the cluster without a host name. */
export const PUBLISH_TYPES = ["LoadBalancer", "NodePort"] as const;
/** The API server's default `--service-node-port-range`. */
export const NODE_PORT_RANGE = { from: 30000, to: 32767 } as const;

const publishSchema = z.strictObject({
    type: z.enum(PUBLISH_TYPES).describe("LoadBalancer: a cloud load balancer's address; NodePort: a port on every node."),
    ports: z
        .array(
            z.strictObject({
                port: z.string().describe("Name of the component's port to publish (any protocol)."),
                nodePort: z
                    .number()
                    .int()
                    .min(NODE_PORT_RANGE.from)
                    .max(NODE_PORT_RANGE.to)
                    .optional()
                    .describe(`Node port, unique in the cluster (${NODE_PORT_RANGE.from}-${NODE_PORT_RANGE.to}). Default: one Kubernetes picks.`),
            }),
        )
        .min(1)
        .describe("Ports to publish, on the same numbers as the component's Service."),
    sourceRanges: z
        .array(ruleString(ipv4Cidr))
        .min(1)
        .optional()
        .describe("LoadBalancer only: client address ranges (IPv4 CIDRs) the load balancer admits. Default: any."),
});

/** The Pod Security Standards levels, strictest first (https://kubernetes.io/docs/concepts/security/pod-security-standards/). */
export const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** The only capability the restricted standard lets a container add back. */
export const RESTRICTED_CAPABILITIES: readonly string[] = ["NET_BIND_SERVICE"];
/** Capabilities the baseline standard allows to be added (its default set); any other needs privileged. */
export const BASELINE_CAPABILITIES: readonly string[] = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

const id = z.number().int().min(0).max(MAX_INT32);

const securityContextSchema = z.strictObject({
    runAsUser: id.optional().describe("User id of the app container (0, root, only with securityExemption). Default: the image's."),
    runAsGroup: id.optional().describe("Primary group id of the app container. Default: the image's."),
    fsGroup: id.optional().describe("Group that owns mounted volumes (pod-wide), so a non-root user can write its volume. Default: none."),
    readOnlyRootFilesystem: z.boolean().optional().describe("Mount the app container's root filesystem read-only. Default: false."),
    capabilities: z
        .strictObject({
            add: z
                .array(z.string().regex(/^[A-Z_]{1,32}$/, { error: (issue) => `expected a capability name such as "NET_BIND_SERVICE", given ${given(issue.input)}` }))
                .default([])
                .describe(`Capabilities added to the app container after dropping ALL: ${RESTRICTED_CAPABILITIES.join(", ")} always; others only with securityExemption (${BASELINE_CAPABILITIES.length} in baseline's set keep baseline, the rest need privileged).`),
        })
        .optional()
        .describe("Linux capabilities of the app container."),
});

const componentSchema = z.strictObject({
    name: z
        .string()
        .max(MAX_COMPONENT_NAME_LENGTH)
        .regex(DNS_1035_LABEL, { error: (issue) => `expected a DNS-1035 label (lowercase letters, digits, dashes; starts with a letter), given ${given(issue.input)}` })
        .describe("Internal domain name: the Service name, a DNS-1035 label unique in the namespace."),
    image: ruleString(imageReference).optional().describe("Container image (an OCI reference), pinned by tag or digest; required unless `versions` gives each version its own."),
    command: z.array(z.string()).optional().describe("Container command (entrypoint override)."),
    args: z.array(z.string()).optional().describe("Container arguments."),
    replicas: z.number().int().min(0).max(MAX_INT32).optional().describe("Pod replicas. Default: 1; leave it out when `autoscaling` sets the count."),
    version: ruleString(labelValue)
        .min(1)
        .optional()
        .describe(`Version label of the component's one workload (Kiali groups workloads by app and version); not with \`versions\`. Default: "${DEFAULT_VERSION}".`),
    ports: z.array(portSchema).default([]).describe("Ports the component serves."),
    env: z
        .record(envVarName, z.union([z.string(), secretEnvSchema]))
        .default({})
        .describe("Environment variables: a plain value, or `{ secret: <name> }` / `{ secretKeyRef: { name, key } }` for a value from a secret (never written into the workload)."),
    dependsOn: z.array(dependencySchema).default([]).describe("Components this one calls: `component[:port]`, `app/component[:port]` or one of the app's externals by name, or `{ target, env }`."),
    configFiles: z
        .array(
            z.strictObject({
                path: ruleString(fileMountPath).describe("Absolute path of the file in the container (not under /var/run/secrets, no '..')."),
                content: z.string().describe("The file's content; `{{ component.port.format }}` placeholders are resolved per mode."),
            }),
        )
        .default([])
        .describe("Files mounted read-only from an immutable ConfigMap."),
    resources: resourcesSchema.optional().describe("Resource requests and limits of the app container; values it leaves out come from the app's componentDefaults."),
    securityExemption: z
        .string()
        .regex(/^[^\r\n]{10,200}$/, { error: (issue) => `expected one line of 10 to 200 characters saying why the component cannot run restricted, given ${given(issue.input)}` })
        .optional()
        .describe(
            "Why this component cannot run under the restricted Pod Security Standard (e.g. \"the upstream image starts as root\"). Given, the pod keeps only the RuntimeDefault seccomp profile and carries the reason in the pluggable-mesh.io/security-exemption annotation. Default: restricted (non-root, no privilege escalation, no capabilities).",
        ),
    // Workloads (issue #13 §2): probes, scaling, disruption, termination; workloadSpec.ts.
    readiness: probeSchema.optional().describe("Readiness probe."),
    liveness: probeSchema.optional().describe("Liveness probe."),
    startup: probeSchema.optional().describe("Startup probe: readiness and liveness wait until it succeeds once (for slow starters)."),
    autoscaling: autoscalingSchema.optional().describe("A HorizontalPodAutoscaler (autoscaling/v2) on the app container's resource use; it owns the replica count, so `replicas` is left out."),
    disruptionBudget: disruptionBudgetSchema.optional().describe("A PodDisruptionBudget (policy/v1) for voluntary disruptions such as node drains."),
    terminationGracePeriodSeconds: terminationGracePeriodSchema.optional(),
    job: jobSchema
        .optional()
        .describe("Makes the component run to completion: a Job (once per definition), or a CronJob with `schedule`. Its pods serve nothing, so no ports, probes, replicas, storage or exposure."),
    storage: z
        .strictObject({
            size: quantity.describe("Size of each replica's volume claim (a Kubernetes quantity)."),
            mountPath: ruleString(mountPath).describe("Where the volume is mounted."),
            storageClass: ruleString(dnsSubdomain).optional().describe("StorageClass of the claims. Default: the cluster's default class."),
        })
        .optional()
        .describe("Persistent storage: makes the component a StatefulSet with a volume claim per replica."),
    volumes: z
        .array(volumeSchema)
        .default([])
        .describe("More volumes, each with one source: `emptyDir`, `configMap` (an existing one) or `claim`. `storage` stays the claim named data."),
    expose: z
        .strictObject({
            port: z.string().describe("Name of the port to expose (an HTTP port)."),
            host: ruleString(hostName).describe("Host name callers use."),
            path: z
                .string()
                .regex(/^\/[^\s{}|\\^`"<>]*$/, { error: (issue) => `expected a URL path starting with '/' (no spaces or quotes), given ${given(issue.input)}` })
                .default("/")
                .describe("URL path prefix."),
        })
        .optional()
        .describe("Exposes one port outside the cluster (an Ingress, or the Istio ingress gateway in istio mode)."),
    traffic: componentTrafficSchema.optional().describe("Traffic policy for callers of this component, merged onto the app's."),
    // secrets helper: env precedence, secrets, security context
    securityContext: securityContextSchema
        .optional()
        .describe("What the image needs from its security context (user, group, volume group, read-only root, capabilities), over the restricted defaults."),
    secretFiles: z
        .array(secretFileSchema)
        .default([])
        .describe("Files mounted read-only from a secret: `{ path, secret: <name> }` or `{ path, secretKeyRef: { name, key } }`."),
    dependencyEnvDefaults: z
        .boolean()
        .optional()
        .describe("Set the default variables `<COMPONENT>[_<PORT>]_{HOST,PORT,ADDR,URL}` for each dependency; false sets only the names mapped in `dependsOn[].env`. Default: the app's."),
    versions: z
        .array(versionSchema)
        .min(1)
        .optional()
        .describe(
            "Versions of the component running side by side (one Deployment `<name>-<version>` each, selected by its app.kubernetes.io/version label; one Service for all of them). Default: one workload `<name>` of `version`.",
        ),
    publish: publishSchema
        .optional()
        .describe("Publishes ports without a host name on a Service of its own (`<name>-public`), of type LoadBalancer or NodePort, the same in every mode."),
});

// ── External dependencies: addresses outside the stack (helper "volumes") ──

/** The longest external name: it prefixes the names of its Istio objects (`<name>.external`) and its default variables. */
export const MAX_EXTERNAL_NAME_LENGTH = MAX_COMPONENT_NAME_LENGTH;

const externalSchema = z.strictObject({
    name: z
        .string()
        .max(MAX_EXTERNAL_NAME_LENGTH)
        .regex(DNS_1035_LABEL, { error: (issue) => `expected a DNS-1035 label (lowercase letters, digits, dashes; starts with a letter), given ${given(issue.input)}` })
        .describe("Name components use in `dependsOn` and placeholders, like a component's; unique among the app's components and externals."),
    host: ruleString(externalHost).describe("Where it is: a fully qualified DNS name outside the cluster or an IPv4 address."),
    ports: z
        .array(
            z.strictObject({
                name: portName.describe("Port name, an IANA service name; used in `dependsOn` (`name:port`), placeholders and default variables."),
                port: portNumber.describe("Port number at the host."),
                protocol: z
                    .enum(EXTERNAL_PROTOCOLS as [ExternalProtocol, ...ExternalProtocol[]], {
                        error: (issue) => `${given(issue.input)} is not a protocol; use one of ${EXTERNAL_PROTOCOLS.join(", ")}`,
                    })
                    .default("tcp")
                    .describe("Application protocol: http, http2 and grpc are plaintext the mesh can route; https and tls are passed through (the app verifies the certificate); tcp is any other."),
            }),
        )
        .min(1)
        .describe("Ports the app uses at the host."),
    traffic: trafficSchema.optional().describe("Traffic policy for calls to it where the mode can apply it, merged onto the app's."),
});
export type ExternalSpec = z.infer<typeof externalSchema>;

export const appSpecSchema = z.strictObject({
    name: z
        .string()
        .max(40)
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: (issue) => `expected a DNS-1123 label, given ${given(issue.input)}` })
        .describe("App name, a DNS-1123 label; prefixes the names of its resources."),
    namespace: ruleString(dnsLabel).optional().describe("Namespace (the article's \"team\"). Default: the app name."),
    createNamespace: z.boolean().default(true).describe("Create the namespace; false when it exists or another app owns it."),
    mode: modeSchema.optional().describe("Governance mode; the stack's per-app entry wins over it, and it wins over the stack's mode."),
    mtls: z.enum(["STRICT", "PERMISSIVE"]).optional().describe("mTLS between the app's workloads where the mode enforces it. Default: the stack's."),
    traffic: trafficSchema.optional().describe("Traffic policy for every component unless it sets its own."),
    dependencyEnvDefaults: z
        .boolean()
        .default(true)
        .describe("Set the default variables `<COMPONENT>[_<PORT>]_{HOST,PORT,ADDR,URL}` for every dependency (a name the app maps itself always wins; colliding defaults are dropped with a warning); false sets only mapped names."),
    componentDefaults: componentDefaultsSchema.optional().describe("Workload settings every component inherits unless it sets its own (per value)."),
    components: z.array(componentSchema).min(1).describe("The app's components: one workload and its Services each."),
    externals: z
        .array(externalSchema)
        .default([])
        .describe("Services outside the stack (a managed database, another cluster's service) that components depend on by name, as on a component."),
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
