import * as pulumi from "@pulumi/pulumi";
import { GovernedApp } from "./components/app/governedApp";
import { IstioControlPlane } from "./components/istio/controlPlane";
import { loadStack } from "./stacks/load";

/** Stack outputs: plain values a reviewer or another stack can use. */
export interface StackOutputs {
    /** Per app: namespace, mode and the internal domain name of each component. */
    apps: Record<string, { namespace: string; mode: string; services: Record<string, string> }>;
    /** The Istio control plane, when the stack installs one. */
    istio?: { namespace: string; version: string; revision?: string; podInjectionLabels: Record<string, string> };
}

/**
 * The whole program: validate config and app specs (nothing is registered when they are wrong),
 * then the platform, then the apps. `index.ts` runs it under the Pulumi CLI; the offline render
 * and the tests run the very same function.
 */
export function pluggableMesh(projectRoot: string = __dirname): StackOutputs {
    const stack = loadStack(pulumi.runtime.allConfig(), { projectRoot });

    const controlPlane = stack.istioControlPlane ? new IstioControlPlane("istio", stack.istioControlPlane) : undefined;
    const platformReady = controlPlane ? [controlPlane.ready] : [];

    const apps: StackOutputs["apps"] = {};
    for (const app of stack.apps) {
        const governed = new GovernedApp(app.name, { app, platform: stack.platform, platformReady });
        apps[app.name] = { namespace: governed.namespace, mode: governed.mode, services: governed.services };
    }

    return {
        apps,
        ...(controlPlane
            ? { istio: { namespace: controlPlane.namespace, version: controlPlane.version, revision: controlPlane.revision, podInjectionLabels: controlPlane.podInjectionLabels } }
            : {}),
    };
}
