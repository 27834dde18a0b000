import type * as pulumi from "@pulumi/pulumi";
import type { IstioPlatform } from "../modes";

/**
 * An Istio control plane as the apps see it: what the modes read, plus the resource to wait for.
 * `IstioControlPlane.platform` gives one; `istioPlatform(...)` describes one installed elsewhere.
 */
export interface IstioPlatformArgs extends IstioPlatform {
    /**
     * A resource that is ready when istiod serves its webhooks (`IstioControlPlane.platform` sets it).
     * Pods and Istio objects wait for it: injection and validation must answer first. @default none
     */
    ready?: pulumi.Input<pulumi.Resource>;
}
