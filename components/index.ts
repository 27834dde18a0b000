/**
 * pluggable-mesh as a library: the components and the types of their arguments. A Pulumi
 * TypeScript program imports this (`import { GovernedApp } from "pluggable-mesh"`); importing it
 * registers nothing. The stack program in `stacks/` is one user of it.
 */
export { GovernedApp, resolvePlatform, type AppPeer, type GovernedAppArgs, type GovernedAppPlatformArgs } from "./app";
export {
    IstioControlPlane,
    istioPlatform,
    DEFAULT_ISTIO_VERSION,
    type IstioControlPlaneArgs,
    type IstioGatewayArgs,
    type IstioMeshConfigArgs,
    type IstioWebhookEndpointArgs,
    type ProxyResourcesArgs,
} from "./istio";
export { Observability, prometheusPeer, type KialiExposure, type ObservabilityArgs } from "./observability";
export { ConfigError, type IstioPlatformArgs } from "./resources";
export {
    FLEET_SCHEMA_VERSION,
    platformData,
    platformOfData,
    peerView,
    peersData,
    readPlatform,
    readPeers,
    type PlatformData,
    type PlatformDataArgs,
    type PeersData,
    type StackReadArgs,
} from "./fleet";
export { LINKERD_INBOUND_POLICIES, MODES, PLATFORM_DEFAULTS, type IstioPlatform, type LinkerdInboundPolicy, type LinkerdPlatform, type MeshMode, type NetworkPeer, type Platform } from "./modes";
export {
    MODE_NAMES,
    NETWORK_POLICY_LEVELS,
    type NetworkPolicyLevel,
    type AppSpec,
    type AppSpecInput,
    type ComponentSpec,
    type ModeName,
    type Problem,
    type TrafficSpec,
} from "./model";
