import { z } from "zod";
import { dnsLabel, dnsSubdomain, given, hostName, imageReference, modeSchema, quantity, ruleString } from "../components/model";
import { PLATFORM_DEFAULTS } from "../components/modes";

/**
 * The stack configuration schema: every `pluggable-mesh:*` key of `Pulumi.<stack>.yaml`, with its
 * defaults. Istio control-plane defaults live with the component (`withDefaults` in
 * components/istio/controlPlane.ts) and are not repeated here.
 */

export const PROJECT = "pluggable-mesh";

const resources = z.strictObject({ cpu: ruleString(quantity).optional(), memory: ruleString(quantity).optional() });

export const istioConfigSchema = z
    .strictObject({
        /** `install` the control plane, use an `existing` one, or `none`. @default "none" */
        controlPlane: z.enum(["none", "install", "existing"]).default("none"),
        namespace: ruleString(dnsLabel).optional(),
        createNamespace: z.boolean().optional(),
        version: z.string().optional(),
        repository: z.string().url().optional(),
        /** Folder of unpacked Istio charts, relative to the project root and inside it. */
        localChartsDir: z.string().min(1).optional(),
        revision: z.string().optional(),
        accessLogs: z.boolean().optional(),
        outboundTrafficPolicy: z.enum(["ALLOW_ANY", "REGISTRY_ONLY"]).optional(),
        holdApplicationUntilProxyStarts: z.boolean().optional(),
        proxyResources: z.strictObject({ requests: resources.optional(), limits: resources.optional() }).optional(),
        gateway: z.strictObject({ enabled: z.boolean().optional(), serviceType: z.enum(["LoadBalancer", "NodePort", "ClusterIP"]).optional() }).optional(),
        /** failurePolicy of Istio's validating webhook. @default "Fail" */
        validationFailurePolicy: z.enum(["Fail", "Ignore"]).optional(),
        /** Where the API server calls istiod's webhooks, when not through its Service. @default through the Service */
        webhookEndpoint: z.strictObject({ url: z.string(), caBundle: z.string() }).optional(),
    })
    .default({ controlPlane: "none" });

export const stackConfigSchema = z.strictObject({
    /** Marks a production stack: stricter checks (no anonymous Kiali). @default false */
    production: z.boolean().default(false),
    /** Mode of every app that does not choose its own. @default "native" */
    mode: modeSchema.default("native"),
    /** mTLS of every app that does not choose its own, where the mode supports it. @default "PERMISSIVE" */
    mtls: z.enum(["STRICT", "PERMISSIVE"]).default("PERMISSIVE"),
    /** The cluster's Kubernetes version ("1.34"), checked against the Istio release. @default "1.34" */
    kubernetesVersion: z.string().regex(/^1\.\d+(\.\d+)?$/, { error: (issue) => `expected a Kubernetes version such as "1.34", given ${given(issue.input)}` }).default("1.34"),
    /** @default "cluster.local" */
    clusterDomain: ruleString(dnsSubdomain).default(PLATFORM_DEFAULTS.clusterDomain),
    /** SPIFFE trust domain of istiod (meshConfig.trustDomain) and of every principal. @default "cluster.local" */
    trustDomain: ruleString(dnsSubdomain).default(PLATFORM_DEFAULTS.trustDomain),
    /** IngressClass of exposed components in native, envoy and linkerd modes. @default the cluster's default class */
    ingressClassName: ruleString(dnsSubdomain).optional(),
    /** Whether the cluster runs an ingress controller (false: Pulumi does not wait for Ingress addresses). @default true */
    ingressController: z.boolean().default(PLATFORM_DEFAULTS.ingressController),
    /** Envoy image of envoy mode. @default ENVOY_IMAGE */
    envoyImage: ruleString(imageReference).default(PLATFORM_DEFAULTS.envoyImage),
    /**
     * Where Kubernetes objects go. @default the ambient kubeconfig (like kubectl). `renderYamlToDirectory`
     * writes them as YAML instead of applying them (relative to the project root): the real engine
     * with no cluster. Note that the provider then writes Secret data in plain text there.
     */
    kubernetes: z
        .strictObject({
            renderYamlToDirectory: z.string().min(1).optional(),
            kubeconfig: z.string().min(1).optional(),
            context: z.string().min(1).optional(),
        })
        .optional(),
    istio: istioConfigSchema,
    linkerd: z
        .strictObject({
            /** `existing` declares a Linkerd control plane installed outside this program. @default "none" */
            controlPlane: z.enum(["none", "existing"]).default("none"),
            /** @default "linkerd" */
            namespace: ruleString(dnsLabel).default("linkerd"),
        })
        .default({ controlPlane: "none", namespace: "linkerd" }),
    observability: z
        .strictObject({
            /** Install Prometheus and Kiali (needs an Istio control plane). @default false */
            enabled: z.boolean().default(false),
            /** @default "token" */
            kialiAuth: z.enum(["token", "anonymous"]).default("token"),
            /** How Kiali is reached. @default "ClusterIP" */
            kialiExposure: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "gateway"]).default("ClusterIP"),
            /** Hostname when `kialiExposure` is `gateway`. */
            kialiHost: ruleString(hostName).optional(),
        })
        .default({ enabled: false, kialiAuth: "token", kialiExposure: "ClusterIP" }),
    /**
     * Kiali's login-token signing key (set with `pulumi config set --secret`): 16, 24 or 32 bytes,
     * checked by loadStack and never shown in a message. @default generated once, see README
     */
    kialiSigningKey: z.string().optional(),
    /** Apps this stack deploys. @default [] */
    apps: z
        .array(
            z.strictObject({
                /** App spec file, relative to the project root. */
                spec: z.string().min(1),
                /** Overrides the app's mode for this stack. */
                mode: modeSchema.optional(),
            }),
        )
        .default([]),
});

/** Keys whose values are secrets: never shown in any message. */
export const SECRET_KEYS: readonly string[] = ["kialiSigningKey"];

export type StackConfig = z.output<typeof stackConfigSchema>;
