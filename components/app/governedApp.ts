import * as pulumi from "@pulumi/pulumi";
import { registerManifest } from "../resources";
import type { Platform } from "../modes";
import type { AppModel } from "../model";
import { renderApp } from "./render";

export interface GovernedAppArgs {
    /** The app's model, from `planApps` (which validates specs against each other and the platform). */
    app: AppModel;
    /** What the platform offers the app's mode (cluster domain, Istio control plane, envoy image). */
    platform: Platform;
    /**
     * Resources the app's objects must wait for: the Istio control plane, so that injection and
     * validation webhooks answer before pods and Istio objects are created. @default []
     */
    platformReady?: pulumi.Input<pulumi.Resource>[];
}

/**
 * An app of components governed by a mesh mode. The mode decides sidecars, labels and policies;
 * names, selectors, Services and volume claims are the same in every mode, so switching mode is
 * an in-place rolling update.
 */
export class GovernedApp extends pulumi.ComponentResource {
    /** The namespace the app runs in. */
    public readonly namespace: string;
    /** The mode the app is governed by. */
    public readonly mode: string;
    /** Internal domain names (Service names) by component. */
    public readonly services: Record<string, string>;

    constructor(name: string, args: GovernedAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pluggable-mesh:app:GovernedApp", name, {}, opts);
        const { app, platform } = args;
        const rendered = renderApp(app, platform);
        for (const warning of rendered.warnings) pulumi.log.warn(warning, this);

        const platformReady = args.platformReady ?? [];
        let namespace: pulumi.Resource | undefined;
        for (const object of rendered.objects) {
            const dependsOn = namespace ? [...platformReady, namespace] : platformReady;
            const resource = registerManifest(object.name, object.manifest, { parent: this, dependsOn });
            if (object.manifest.kind === "Namespace") namespace = resource;
        }

        this.namespace = app.namespace;
        this.mode = app.mode;
        this.services = Object.fromEntries(app.components.filter((c) => c.ports.length > 0).map((c) => [c.component, c.serviceName]));
        this.registerOutputs({ namespace: this.namespace, mode: this.mode, services: this.services });
    }
}
