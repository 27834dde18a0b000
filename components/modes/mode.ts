import type { PodSecurityNeed, PodSecurityLevel, Address, AppModel, ComponentModel, ComponentRef, ExtraObject, ModeName, NetworkPolicyLevel, Problem, ResolvedPort } from "../model";
import { ENVOY_IMAGE } from "./envoy/bootstrap";

/**
 * The mesh-mode plug-in interface. A mode turns the neutral app model into decorations: labels,
 * annotations, sidecars and extra objects. It returns plain data, never mutates its input and never
 * creates resources; GovernedApp registers what it returns. A new mode is one file implementing
 * this interface plus one line in the registry.
 */

/** An Istio control plane the stack installs or declares as already present. */
export interface IstioPlatform {
    namespace: string;
    revision?: string;
    /** The mesh's SPIFFE trust domain (istiod's `meshConfig.trustDomain`); principals must carry it. */
    trustDomain: string;
    /** Labels that opt a pod into sidecar injection. */
    podInjectionLabels: Record<string, string>;
    /** Labels that opt a whole namespace into sidecar injection. */
    namespaceInjectionLabels: Record<string, string>;
    /** The ingress gateway, when one is installed. */
    gateway?: { namespace: string; selector: Record<string, string>; principal: string };
    /**
     * Refuse, instead of warning, when a STRICT istio-mode component would accept plaintext from
     * callers in other modes on the ports they declared (the stack sets it in production unless
     * `istio.allowPlaintextCallers` is true). @default false
     */
    refusePlaintextCallers?: boolean;
}

/**
 * Linkerd's default inbound policies (`config.linkerd.io/default-inbound-policy`), what a meshed
 * pod admits on a port no Server describes.
 */
export const LINKERD_INBOUND_POLICIES = ["all-unauthenticated", "all-authenticated", "cluster-unauthenticated", "cluster-authenticated", "deny", "audit"] as const;
export type LinkerdInboundPolicy = (typeof LINKERD_INBOUND_POLICIES)[number];

/** A Linkerd control plane installed outside this program. */
export interface LinkerdPlatform {
    /** The control plane's namespace. */
    namespace: string;
    /**
     * The default inbound policy of the app's pods and namespaces, for ports no Server describes.
     * @default none: Linkerd's cluster-wide `proxy.defaultInboundPolicy` (an app with mtls STRICT still gets all-authenticated)
     */
    defaultInboundPolicy?: LinkerdInboundPolicy;
    /** Start the app containers only after the proxy is ready (`config.linkerd.io/proxy-await`). @default true */
    proxyAwait?: boolean;
    /**
     * Refuse an app with mtls STRICT whose callers in other modes would have to be admitted by
     * network (a production stack, unless `linkerd.allowPlaintextCallers` is true). @default false
     */
    refusePlaintextCallers?: boolean;
}

/** What the platform offers the modes; built by the stack from its config. */
export interface Platform {
    /** @default "cluster.local" */
    clusterDomain: string;
    /** SPIFFE trust domain of workload identities. @default "cluster.local" */
    trustDomain: string;
    /** Present when an Istio control plane is installed or declared. */
    istio?: IstioPlatform;
    /** Present when a Linkerd control plane is declared. */
    linkerd?: LinkerdPlatform;
    /** IngressClass for exposed components in modes that use Kubernetes Ingress. @default the cluster's default class */
    ingressClassName?: string;
    /**
     * Whether the cluster has an ingress controller that gives Ingresses an address. When false,
     * Ingresses carry `pulumi.com/skipAwait` (only they): Pulumi would otherwise wait for an address
     * that never comes. @default true
     */
    ingressController?: boolean;
    /** The envoy sidecar image of envoy mode. */
    envoyImage: string;
    /** Which NetworkPolicies apps get. @default "ingress" */
    networkPolicies: NetworkPolicyLevel;
    /** The Prometheus that scrapes sidecar metrics; NetworkPolicies admit it on each mode's metrics ports. @default none */
    prometheus?: NetworkPeer;
    /** Pod Security admission labels of the namespaces apps create. @default {@link PLATFORM_DEFAULTS}.podSecurity */
    podSecurity: PodSecurityPolicy;
}

/**
 * The Pod Security Standards levels a namespace carries: `enforce` (the API server refuses pods
 * that break it), `warn` (kubectl shows a warning) and `audit` (the audit log notes it).
 */
export interface PodSecurityPolicy {
    /** A level, or `auto`: the strictest level the app's mode and components pass. */
    enforce: PodSecurityLevel | "auto";
    warn: PodSecurityLevel;
    audit: PodSecurityLevel;
}

/** Pods a NetworkPolicy rule names: by namespace (absent: the policy's own) and pod labels (absent: every pod there). */
export interface NetworkPeer {
    namespace?: string;
    podSelector?: Record<string, string>;
    /** Addresses outside the cluster instead of pods (an external given by IPv4 address), as a CIDR. */
    ipBlock?: string;
}

/** One NetworkPolicy rule: who (`"any"`: every source or destination, in or outside the cluster) on which ports. */
export interface NetworkRule {
    peers: NetworkPeer[] | "any";
    ports: { port: number; protocol: "TCP" | "UDP" }[];
}

/**
 * What a mode's pods need from NetworkPolicies beyond the declared dependency graph. The policies
 * themselves are built in one place (networkPolicy.ts) from these answers.
 */
export interface ModeNetwork {
    /**
     * The pod ports on which pods of this mode receive traffic for one of the component's ports,
     * through its Service (the named target port) or dialled directly. Policies admit the union
     * over every mode, so pods of the old and the new mode both stay reachable while a switch rolls.
     */
    podPorts(component: ComponentRef, port: ResolvedPort): number[];
    /** Ports on this mode's pods that the platform's Prometheus scrapes (sidecar metrics). */
    metricsPorts(component: ComponentRef): number[];
    /** Who reaches an exposed component from outside the app: the mode's gateway, or `"any"` for an Ingress controller we cannot name. */
    exposureSources(component: ComponentRef, platform: Platform): NetworkPeer[] | "any";
    /** Egress this mode's proxies need besides DNS and the declared dependencies (their control plane). */
    controlPlaneEgress(platform: Platform): NetworkRule[];
}

/** The platform's defaults: the one place they are written down (stack config and GovernedApp both use them). */
export const PLATFORM_DEFAULTS = {
    clusterDomain: "cluster.local",
    trustDomain: "cluster.local",
    ingressController: true,
    envoyImage: ENVOY_IMAGE,
    networkPolicies: "ingress",
    // Enforce what the pods need; warn and audit against restricted, so every exemption stays visible.
    podSecurity: { enforce: "auto", warn: "restricted", audit: "restricted" },
} as const satisfies Partial<Platform>;

/** What a mode adds to a component's pod template. */
export interface PodDecoration {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** Native sidecars (init containers with `restartPolicy: Always`), started before the app. */
    sidecars: Record<string, unknown>[];
    volumes: Record<string, unknown>[];
    /**
     * True when a sidecar serves the component's named ports (the Service's `targetPort` names), so
     * the app container lists its ports unnamed. Each pod resolves the names itself, which keeps the
     * Service identical in every mode and traffic flowing while pods of two modes coexist in a roll.
     */
    sidecarServesPorts: boolean;
    /**
     * The pod label this mode sets to the workload's version (Istio's `version`), when it sets one:
     * render gives each version's pods their own value.
     */
    versionLabel?: string;
}

export interface ComponentDecoration {
    /** How the component reaches each of its dependencies, in `component.dependencies` order. */
    addresses: Address[];
    /** How the component reaches each external it depends on, in `component.externalDependencies` order. */
    externalAddresses: Address[];
    pod: PodDecoration;
    /** Annotations on the component's main Service. */
    serviceAnnotations: Record<string, string>;
    /** Extra objects for this component (sidecar config, policies, exposure). */
    objects: ExtraObject[];
    /** Policies the mode cannot honour or changes it made, for the user to read. */
    warnings: string[];
}

export interface AppDecoration {
    /** Labels for the app's namespace, when the app creates it. */
    namespaceLabels: Record<string, string>;
    namespaceAnnotations: Record<string, string>;
    /** App-wide objects (for example an Istio PeerAuthentication). */
    objects: ExtraObject[];
    warnings: string[];
}

export interface MeshMode {
    readonly name: ModeName;
    /** One line for the README and the CLI. */
    readonly summary: string;
    /** What this app needs from the platform and does not get, as config problems; checked before anything is registered. */
    requirements(app: AppModel, platform: Platform): Problem[];
    decorateApp(app: AppModel, platform: Platform): AppDecoration;
    decorateComponent(component: ComponentModel, app: AppModel, platform: Platform): ComponentDecoration;
    /** What NetworkPolicies must let through for this mode's pods. */
    readonly network: ModeNetwork;
    /**
     * The laxest Pod Security Standards level this mode's own additions to a pod need (its sidecars,
     * and init containers a control plane injects), so the namespace can enforce what the pods pass.
     */
    podSecurity(platform: Platform): PodSecurityNeed;
}

/** The network needs of a mode without sidecar metrics or a control plane, whose pods serve each port on the app's own port. */
export const PLAIN_NETWORK: ModeNetwork = {
    podPorts: (_component, port) => [port.targetPort],
    metricsPorts: () => [],
    exposureSources: () => "any",
    controlPlaneEgress: () => [],
};

/** An empty pod decoration, for modes that add nothing to a part of it. */
export function emptyPod(): PodDecoration {
    return { labels: {}, annotations: {}, sidecars: [], volumes: [], sidecarServesPorts: false };
}
