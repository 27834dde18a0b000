import type { ModeName } from "../model";
import { envoyMode } from "./envoy";
import { istioMode } from "./istio";
import { linkerdMode } from "./linkerd";
import type { MeshMode } from "./mode";
import { nativeMode } from "./native";

/** Every mode by name. Adding a mode: one file implementing MeshMode, one line here, its name in MODE_NAMES. */
export const MODES: Readonly<Record<ModeName, MeshMode>> = {
    native: nativeMode,
    envoy: envoyMode,
    istio: istioMode,
    linkerd: linkerdMode,
};

export function modeNamed(name: ModeName): MeshMode {
    return MODES[name];
}
