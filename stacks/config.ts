import { z } from "zod";
import { dnsLabel, dnsSubdomain, given, hostName, imageReference, modeSchema, NETWORK_POLICY_LEVELS, POD_SECURITY_LEVELS, quantity, ruleString, SECRET_NAME, stackReferenceName } from "../components/model";
import { withDefaults } from "../components/istio";
import { LINKERD_INBOUND_POLICIES, PLATFORM_DEFAULTS } from "../components/modes";

/**
 * The stack configuration schema: every `pluggable-mesh:*` key of `Pulumi.<stack>.yaml`, with its
 * defaults and its description (docs/configuration.md is generated from them). Istio control-plane
 * defaults live with the component (`withDefaults` in components/istio) and are only shown here.
 */

export const PROJECT = "pluggable-mesh";

/** Istio's own defaults, owned by the component; the descriptions below show them, never repeat them. */
const ISTIO = withDefaults({});
const istioDefault = (value: unknown) => `Default: ${JSON.stringify(value)}.`;

const resources = (of: string, defaults: { cpu: string; memory: string }) =>
    z
        .strictObject({
            cpu: ruleString(quantity).optional().describe(`CPU ${of} of every Istio sidecar (a Kubernetes quantity). ${istioDefault(defaults.cpu)}`),
            memory: ruleString(quantity).optional().describe(`Memory ${of} of every Istio sidecar (a Kubernetes quantity). ${istioDefault(defaults.memory)}`),
        })
        .optional();

export const istioConfigSchema = z
    .strictObject({
        controlPlane: z.enum(["none", "install", "existing"]).default("none").describe("`install` the Istio control plane (Helm charts base, istiod, gateway), use an `existing` one, or `none`."),
        namespace: ruleString(dnsLabel).optional().describe(`Namespace of istiod and the gateway. ${istioDefault(ISTIO.namespace)}`),
        createNamespace: z.boolean().optional().describe(`Create the namespace; false adopts an existing one. ${istioDefault(ISTIO.createNamespace)}`),
        version: z.string().optional().describe(`Istio release, checked against kubernetesVersion with Istio's support table. ${istioDefault(ISTIO.version)}`),
        repository: z.string().url().optional().describe(`Helm chart repository: a mirror is one changed key. ${istioDefault(ISTIO.repository)}`),
        localChartsDir: z.string().min(1).optional().describe("Folder of unpacked Istio charts for air-gapped installs, relative to the project root and inside it."),
        revision: z.string().optional().describe("istio.io/rev of a canary control plane; workloads then carry the revision label."),
        accessLogs: z.boolean().optional().describe(`Envoy access logs on stdout (meshConfig.accessLogFile). ${istioDefault(ISTIO.meshConfig.accessLogs)}`),
        outboundTrafficPolicy: z.enum(["ALLOW_ANY", "REGISTRY_ONLY"]).optional().describe(`meshConfig.outboundTrafficPolicy.mode. ${istioDefault(ISTIO.meshConfig.outboundTrafficPolicy)}`),
        holdApplicationUntilProxyStarts: z.boolean().optional().describe(`Start the app container only after its sidecar is ready. ${istioDefault(ISTIO.meshConfig.holdApplicationUntilProxyStarts)}`),
        proxyResources: z
            .strictObject({ requests: resources("request", ISTIO.proxyResources.requests), limits: resources("limit", ISTIO.proxyResources.limits) })
            .optional()
            .describe("Requests and limits of the Istio sidecars; no request may exceed its limit."),
        gateway: z
            .strictObject({
                enabled: z.boolean().optional().describe(`Install the ingress gateway (needed to expose components in istio mode). ${istioDefault(ISTIO.gateway.enabled)}`),
                serviceType: z.enum(["LoadBalancer", "NodePort", "ClusterIP"]).optional().describe(`Service type of the gateway. ${istioDefault(ISTIO.gateway.serviceType)}`),
            })
            .optional()
            .describe("The Istio ingress gateway."),
        validationFailurePolicy: z.enum(["Fail", "Ignore"]).optional().describe(`failurePolicy of Istio's validating webhook, set in both charts so istiod never flips it behind Pulumi. ${istioDefault(ISTIO.validationFailurePolicy)}`),
        webhookEndpoint: z
            .strictObject({
                url: z.string().describe("https base URL of istiod's webhook server; the API server calls /inject and /validate under it."),
                caBundle: z.string().describe("Base64 of the PEM certificates that sign istiod's webhook certificate."),
            })
            .optional()
            .describe("Where the API server calls istiod's webhooks when not through its Service (an istiod outside the pod network); validation then always fails closed."),
        allowPlaintextCallers: z
            .boolean()
            .optional()
            .describe(
                "In a production stack, let a STRICT istio-mode component accept plaintext from callers in other modes, on exactly the ports they declared (a warning names each port and caller; NetworkPolicies still admit only those callers). Other stacks do this with a warning. Default: false (a production stack refuses, naming the callers).",
            ),
    })
    .default({ controlPlane: "none" })
    .describe("The Istio control plane.");

export const stackConfigSchema = z.strictObject({
    production: z.boolean().default(false).describe("Marks a production stack: stricter checks (no anonymous Kiali; no plaintext callers of STRICT istio-mode or linkerd-mode apps unless istio.allowPlaintextCallers or linkerd.allowPlaintextCallers); linkerd mode's default inbound policy is deny."),
    mode: modeSchema.default("native").describe("Mode of every app that does not choose its own."),
    mtls: z.enum(["STRICT", "PERMISSIVE"]).default("PERMISSIVE").describe("mTLS of every app that does not choose its own, where the mode can enforce it."),
    kubernetesVersion: z
        .string()
        .regex(/^1\.\d+(\.\d+)?$/, { error: (issue) => `expected a Kubernetes version such as "1.34", given ${given(issue.input)}` })
        .default("1.34")
        .describe("The cluster's Kubernetes minor version, checked against the Istio release's support table."),
    clusterDomain: ruleString(dnsSubdomain).default(PLATFORM_DEFAULTS.clusterDomain).describe("Cluster DNS domain of Service FQDNs."),
    trustDomain: ruleString(dnsSubdomain).default(PLATFORM_DEFAULTS.trustDomain).describe("SPIFFE trust domain of istiod (meshConfig.trustDomain) and of every principal the modes write."),
    ingressClassName: ruleString(dnsSubdomain).optional().describe("IngressClass of exposed components in native, envoy and linkerd modes. Default: the cluster's default class."),
    ingressController: z.boolean().default(PLATFORM_DEFAULTS.ingressController).describe("Whether the cluster runs an ingress controller; false: Pulumi does not wait for Ingress addresses."),
    envoyImage: ruleString(imageReference).default(PLATFORM_DEFAULTS.envoyImage).describe("The envoy sidecar image of envoy mode."),
    networkPolicies: z
        .enum(NETWORK_POLICY_LEVELS, { error: (issue) => `${given(issue.input)} is not a NetworkPolicy level; use one of ${NETWORK_POLICY_LEVELS.join(", ")}` })
        .default(PLATFORM_DEFAULTS.networkPolicies)
        .describe(
            "NetworkPolicies of every app, in every mode: `ingress` (each component admits only its declared callers, Prometheus and its gateway or Ingress controller; a default-deny for namespaces the apps own), `ingress+egress` (also: each component reaches only DNS, its declared dependencies and its mode's control plane), or `off`. Enforced only where the cluster's network plugin implements NetworkPolicy. See docs/authorization.md.",
        ),
    podSecurity: z
        .strictObject({
            enforce: z
                .enum(["auto", ...POD_SECURITY_LEVELS])
                .default(PLATFORM_DEFAULTS.podSecurity.enforce)
                .describe(
                    "Pod Security Standards level the API server enforces in the namespaces apps create: `auto` (the strictest level each app's mode and components pass: restricted, baseline with a securityExemption, privileged for istio and linkerd injection without CNI), or `restricted`, `baseline`, `privileged` (an app that would not pass it is refused before deployment).",
                ),
            warn: z.enum(POD_SECURITY_LEVELS).default(PLATFORM_DEFAULTS.podSecurity.warn).describe("Level kubectl warns about when a pod breaks it."),
            audit: z.enum(POD_SECURITY_LEVELS).default(PLATFORM_DEFAULTS.podSecurity.audit).describe("Level the API server's audit log annotates when a pod breaks it."),
        })
        .default({ ...PLATFORM_DEFAULTS.podSecurity })
        .describe("Pod Security admission labels (pod-security.kubernetes.io/enforce, warn, audit) of the namespaces apps create. See docs/secrets.md."),
    kubernetes: z
        .strictObject({
            renderYamlToDirectory: z.string().min(1).optional().describe("Write objects as YAML into this folder (relative to the project root) instead of applying them; Secret data is then written in plain text."),
            kubeconfig: z.string().min(1).optional().describe("Kubeconfig (its content or a path) of the target cluster."),
            context: z.string().min(1).optional().describe("Context of that kubeconfig."),
        })
        .optional()
        .describe("Where Kubernetes objects go. Default: the ambient kubeconfig, like kubectl."),
    istio: istioConfigSchema,
    linkerd: z
        .strictObject({
            controlPlane: z.enum(["none", "existing"]).default("none").describe("`existing` declares a Linkerd control plane installed outside this program."),
            namespace: ruleString(dnsLabel).default("linkerd").describe("Namespace of that control plane."),
            defaultInboundPolicy: z
                .enum(LINKERD_INBOUND_POLICIES)
                .optional()
                .describe(
                    "config.linkerd.io/default-inbound-policy of linkerd-mode apps: what their pods admit on ports no Server describes. Default: `deny` when `production` is true, else Linkerd's cluster-wide policy (an app with mtls STRICT gets at least `all-authenticated`).",
                ),
            proxyAwait: z.boolean().default(true).describe("config.linkerd.io/proxy-await: app containers start only once the Linkerd proxy is ready."),
            allowPlaintextCallers: z
                .boolean()
                .optional()
                .describe(
                    "In a production stack, let a STRICT linkerd-mode component admit callers in other modes (no Linkerd identity) by network, on exactly the ports they declared (a warning names each port and caller; NetworkPolicies still admit only those callers). Other stacks do this with a warning. Default: false (a production stack refuses, naming the callers).",
                ),
        })
        .default({ controlPlane: "none", namespace: "linkerd", proxyAwait: true })
        .describe("A Linkerd control plane for linkerd mode."),
    observability: z
        .strictObject({
            enabled: z.boolean().default(false).describe("Install Prometheus and Kiali (needs an Istio control plane)."),
            kialiAuth: z.enum(["token", "anonymous"]).default("token").describe("Kiali login: a token (the stack's secret output kialiToken), or anonymous (refused in production)."),
            kialiExposure: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "gateway"]).default("ClusterIP").describe("How Kiali is reached; `gateway` needs the Istio gateway and kialiHost."),
            kialiHost: ruleString(hostName).optional().describe("Hostname of Kiali when kialiExposure is `gateway`."),
        })
        .default({ enabled: false, kialiAuth: "token", kialiExposure: "ClusterIP" })
        .describe("Prometheus and Kiali."),
    kialiSigningKey: z
        .string()
        .optional()
        .describe("Secret (`pulumi config set --secret`): Kiali's login-token signing key, 16, 24 or 32 bytes; never shown in a message. Default: generated once and kept."),
    secrets: z
        .record(
            z.string().regex(SECRET_NAME, { error: (issue) => `expected a secret name (a letter, then letters, digits, '_' or '-'; at most 63), given ${given(issue.input)}` }),
            z.string(),
        )
        .default({})
        .describe(
            "Secret values apps reference by name (`{ secret: <name> }` in a component's env or secretFiles), each set with `pulumi config set --secret --path 'pluggable-mesh:secrets.<name>' <value>`; never shown in a message or a render.",
        ),
    apps: z
        .array(
            z.strictObject({
                spec: z.string().min(1).describe("App spec file, relative to the project root and inside it."),
                mode: modeSchema.optional().describe("This app's mode in this stack; wins over the spec's own and the stack's."),
            }),
        )
        .default([])
        .describe("Apps this stack deploys."),
    platformStack: ruleString(stackReferenceName)
        .optional()
        .describe(
            "Makes this an app stack: the stack whose `platform` output its apps use (a stack of this project, e.g. `fleet`, or `org/project/stack`), read with a StackReference. An app stack may not set the keys that stack owns (production, kubernetesVersion, clusterDomain, trustDomain, ingressClassName, ingressController, envoyImage, networkPolicies, podSecurity, istio, linkerd, observability, kialiSigningKey). See docs/fleet.md. Default: none (the stack is its own platform).",
        ),
    peerStacks: z
        .array(ruleString(stackReferenceName))
        .default([])
        .describe(
            "Other stacks whose apps this stack's apps depend on (`dependsOn: <app>/<component>`) or are called by, read from their `peers` output with a StackReference; mutual peers are allowed. A stack depended on must be deployed first; a caller's stack not deployed yet is admitted nothing (a warning). See docs/fleet.md.",
        ),
});

/**
 * Keys the platform stack owns: an app stack (one with `platformStack`) takes these from its
 * platform's `platform` output and may not set them itself. Every other key (mode, mtls, apps,
 * secrets, kubernetes, peerStacks) is the app stack's own.
 */
export const PLATFORM_OWNED_KEYS = [
    "production",
    "kubernetesVersion",
    "clusterDomain",
    "trustDomain",
    "ingressClassName",
    "ingressController",
    "envoyImage",
    "networkPolicies",
    "podSecurity",
    "istio",
    "linkerd",
    "observability",
    "kialiSigningKey",
] as const satisfies readonly (keyof StackConfig)[];

/** Keys whose values are secrets: never shown in any message. */
export const SECRET_KEYS: readonly string[] = ["kialiSigningKey", "secrets"];

export type StackConfig = z.output<typeof stackConfigSchema>;
