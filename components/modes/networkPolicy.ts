import type { AppModel, ComponentModel, ComponentRef, ExtraObject, Manifest, ResolvedPort } from "../model";
import type { NetworkPeer, NetworkRule, Platform } from "./mode";
import { MODES, modeNamed } from "./registry";

/**
 * NetworkPolicies from the declared dependency graph, the same in every mode: per component, an
 * ingress policy admitting only the pods of its declared callers on the ports they call, plus what
 * the platform needs (Prometheus on the mode's metrics ports, the gateway or Ingress controller on
 * an exposed port); with egress, each component reaches only DNS, its declared dependencies and its
 * mode's control plane. An app that owns its namespace also gets a default-deny for it.
 *
 * Ports are numbers, never names: in envoy pods the named ports belong to the sidecar, and named
 * ports on native sidecars (init containers) are not resolved alike by every network plugin.
 * The ports a component is served on are the union over every mode (see ModeNetwork.podPorts), so
 * pods of the old and the new mode both stay reachable while a mode switch rolls.
 *
 * Kubernetes: https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */

/** Namespaces carry this label with their own name (Kubernetes 1.22+), which lets a rule pick one namespace. */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
/** Cluster DNS as kubeadm, kind and most distributions deploy it (CoreDNS keeps kube-dns's label). */
const CLUSTER_DNS: NetworkPeer = { namespace: "kube-system", podSelector: { "k8s-app": "kube-dns" } };
const DNS_RULE: NetworkRule = { peers: [CLUSTER_DNS], ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }] };
/**
 * Kubernetes name of the namespace-wide default-deny policy. Component policies are named after
 * their components (DNS-1035 labels, no dots); a NetworkPolicy name may be a DNS subdomain, so the
 * dot keeps a component named `default-deny` from colliding with it.
 */
export const DEFAULT_DENY_NAME = "default-deny.pluggable-mesh";

/** Every pod port, in any mode, on which a component's port is served: what callers and policies must allow. */
export function servingPorts(component: ComponentRef, ports: readonly ResolvedPort[]): number[] {
    const all = ports.flatMap((port) => Object.values(MODES).flatMap((mode) => mode.network.podPorts(component, port)));
    return [...new Set(all)].sort((a, b) => a - b);
}

function tcp(ports: readonly number[]): NetworkRule["ports"] {
    return ports.map((port) => ({ port, protocol: "TCP" }));
}

/** A peer as a NetworkPolicy writes it, relative to the namespace the policy lives in. */
function peerManifest(peer: NetworkPeer, policyNamespace: string): Record<string, unknown> {
    if (peer.ipBlock !== undefined) return { ipBlock: { cidr: peer.ipBlock } };
    const podSelector = peer.podSelector === undefined ? {} : { matchLabels: peer.podSelector };
    // A bare podSelector means the policy's own namespace; elsewhere the namespace is named.
    if (peer.namespace === undefined || peer.namespace === policyNamespace) return { podSelector };
    return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } }, ...(peer.podSelector === undefined ? {} : { podSelector }) };
}

function ruleManifest(rule: NetworkRule, direction: "from" | "to", policyNamespace: string): Record<string, unknown> {
    return {
        ...(rule.peers === "any" ? {} : { [direction]: rule.peers.map((peer) => peerManifest(peer, policyNamespace)) }),
        ports: rule.ports.map(({ port, protocol }) => ({ protocol, port })),
    };
}

function componentPeer(ref: ComponentRef): NetworkPeer {
    return { namespace: ref.namespace, podSelector: ref.selectorLabels };
}

/** Who may connect to a component, and on which ports. */
export function ingressRules(component: ComponentModel, platform: Platform): NetworkRule[] {
    const network = modeNamed(component.mode).network;
    const rules: NetworkRule[] = [...component.dependents]
        .sort((a, b) => `${a.app}/${a.component}`.localeCompare(`${b.app}/${b.component}`))
        .map((caller) => ({ peers: [componentPeer(caller)], ports: tcp(servingPorts(component, caller.calledPorts)) }));
    const exposed = component.spec.expose && component.ports.find((port) => port.name === component.spec.expose!.port);
    if (exposed) rules.push({ peers: network.exposureSources(component, platform), ports: tcp(servingPorts(component, [exposed])) });
    // Published ports (a LoadBalancer or node port) take clients from anywhere, in or outside the cluster.
    const published = (component.spec.publish?.ports ?? []).map((entry) => component.ports.find((port) => port.name === entry.port)!);
    if (published.length > 0) rules.push({ peers: "any", ports: tcp(servingPorts(component, published)) });
    const metrics = network.metricsPorts(component);
    if (platform.prometheus && metrics.length > 0) rules.push({ peers: [platform.prometheus], ports: tcp(metrics) });
    return rules.filter((rule) => rule.peers === "any" || rule.peers.length > 0);
}

/** Where a component may connect: DNS, its declared dependencies (each on the ports it declared), its mode's control plane. */
export function egressRules(component: ComponentModel, platform: Platform): NetworkRule[] {
    const byTarget = new Map<string, { target: ComponentRef; ports: ResolvedPort[] }>();
    for (const dependency of component.dependencies) {
        const key = `${dependency.target.app}/${dependency.target.component}`;
        const entry = byTarget.get(key) ?? { target: dependency.target, ports: [] };
        entry.ports.push(dependency.port);
        byTarget.set(key, entry);
    }
    const dependencies = [...byTarget.values()].map(({ target, ports }) => ({
        peers: [componentPeer(target)],
        ports: tcp(servingPorts(target, ports)),
    }));
    return [DNS_RULE, ...dependencies, ...externalEgress(component), ...modeNamed(component.mode).network.controlPlaneEgress(platform)];
}

/**
 * Egress to the component's externals, on their declared ports: an IPv4 address as a /32 block;
 * a DNS name as any destination, since a NetworkPolicy cannot name hosts and a provider's addresses
 * change (https://kubernetes.io/docs/concepts/services-networking/network-policies/#what-you-can-t-do-with-network-policies-at-least-not-yet).
 */
function externalEgress(component: ComponentModel): NetworkRule[] {
    const byTarget = new Map<string, { peers: NetworkRule["peers"]; ports: number[] }>();
    for (const dependency of component.externalDependencies) {
        const target = dependency.target;
        const entry = byTarget.get(target.name) ?? { peers: target.hostKind === "ipv4" ? [{ ipBlock: `${target.host}/32` }] : "any", ports: [] };
        if (!entry.ports.includes(dependency.port.port)) entry.ports.push(dependency.port.port);
        byTarget.set(target.name, entry);
    }
    return [...byTarget.values()].map(({ peers, ports }) => ({ peers, ports: tcp(ports.sort((a, b) => a - b)) }));
}

function policy(name: string, namespace: string, podSelector: Record<string, string>, ingress: NetworkRule[], egress: NetworkRule[] | undefined): Manifest {
    return {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name, namespace },
        spec: {
            podSelector: Object.keys(podSelector).length > 0 ? { matchLabels: podSelector } : {},
            policyTypes: egress === undefined ? ["Ingress"] : ["Ingress", "Egress"],
            // No rules at all denies every connection, which is what a policy without rules means.
            ...(ingress.length > 0 ? { ingress: ingress.map((rule) => ruleManifest(rule, "from", namespace)) } : {}),
            ...(egress !== undefined && egress.length > 0 ? { egress: egress.map((rule) => ruleManifest(rule, "to", namespace)) } : {}),
        },
    };
}

/** The app's NetworkPolicies at the platform's level: one per component, and a default-deny when the app owns its namespace. */
export function networkPolicies(app: AppModel, platform: Platform): ExtraObject[] {
    if (platform.networkPolicies === "off") return [];
    const withEgress = platform.networkPolicies === "ingress+egress";
    const objects: ExtraObject[] = app.components.map((component) => ({
        key: component.serviceName,
        manifest: policy(component.serviceName, component.namespace, component.selectorLabels, ingressRules(component, platform), withEgress ? egressRules(component, platform) : undefined),
    }));
    if (app.createNamespace) objects.push({ key: DEFAULT_DENY_NAME, manifest: policy(DEFAULT_DENY_NAME, app.namespace, {}, [], withEgress ? [] : undefined) });
    return objects;
}
