/**
 * A fleet of stacks: a platform stack that exports its platform, and app stacks that read it and
 * each other's apps as peers through StackReferences (docs/fleet.md).
 */
export { FLEET_SCHEMA_VERSION, platformData, platformDataSchema, platformOfData, plainJson, type PlatformData, type PlatformDataArgs } from "./platformData";
export { MAX_PEER_APPS, peerView, peersData, peersDataSchema, type PeersData } from "./peers";
export { parseOutput, type OutputDetails, type OutputRead } from "./outputs";
export { readOutputDetails, readPeers, readPeersOutput, readPlatform, readPlatformOutput, stackReference, type StackReadArgs } from "./references";
