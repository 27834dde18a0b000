/**
 * The mesh modes: the plug-in interface, the registry and one file per mode. Above the neutral
 * model, below the components: a mode turns the model into plain data (labels, sidecars, extra
 * manifests) and never registers a resource. Only this folder branches on a mode's name.
 */
export type { AppDecoration, ComponentDecoration, IstioPlatform, LinkerdInboundPolicy, LinkerdPlatform, MeshMode, ModeNetwork, NetworkPeer, NetworkRule, Platform, PodDecoration, PodSecurityPolicy } from "./mode";
export { DEFAULT_DENY_NAME, egressRules, ingressRules, networkPolicies, servingPorts } from "./networkPolicy";
export { LINKERD_INBOUND_POLICIES, PLATFORM_DEFAULTS } from "./mode";
export { MODES, modeNamed } from "./registry";
export { ENVOY_IMAGE } from "./envoy/bootstrap";
