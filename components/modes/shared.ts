import { serviceFqdn, type Address, type AppModel, type ComponentModel, type ExternalTarget, type Manifest, type ModeName } from "../model";
import type { Platform } from "./mode";

/** Building blocks that several modes share; each mode still decides whether to use them. */

/** Dependencies reached by their Service's DNS name, as Kubernetes itself offers. */
export function serviceDnsAddresses(component: ComponentModel, platform: Platform): Address[] {
    return component.dependencies.map((dependency) => ({
        host: serviceFqdn(dependency.target.serviceName, dependency.target.namespace, platform.clusterDomain),
        port: dependency.port.port,
        protocol: dependency.port.protocol,
    }));
}

/** Externals reached at the address the spec declares: the app dials the host itself (a mesh may intercept it on the way). */
export function declaredExternalAddresses(component: ComponentModel): Address[] {
    return component.externalDependencies.map((dependency) => ({ host: dependency.target.host, port: dependency.port.port, protocol: dependency.port.protocol }));
}

/**
 * The name of a mode's objects for an external (`<name>.external`). Component objects are named
 * after DNS-1035 labels, which have no dot, so the two can never collide.
 */
export function externalObjectName(external: ExternalTarget): string {
    return `${external.name}.external`;
}

/** Externals whose declared traffic policy a mode does not apply, for its warning. */
export function externalsWithDeclaredTraffic(app: AppModel): string[] {
    return app.externals.filter((external) => external.trafficDeclared).map((external) => `${external.app}/${external.name} (external)`);
}

/** A Kubernetes Ingress for an exposed component, for modes without a gateway of their own. */
export function ingressFor(component: ComponentModel, app: AppModel, platform: Platform): Manifest[] {
    const expose = component.spec.expose;
    if (!expose) return [];
    const port = component.ports.find((candidate) => candidate.name === expose.port)!;
    return [
        {
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: {
                name: component.serviceName,
                namespace: app.namespace,
                ...(platform.ingressController === false ? { annotations: { "pulumi.com/skipAwait": "true" } } : {}),
            },
            spec: {
                ...(platform.ingressClassName ? { ingressClassName: platform.ingressClassName } : {}),
                rules: [
                    {
                        host: expose.host,
                        http: {
                            paths: [{ path: expose.path, pathType: "Prefix", backend: { service: { name: component.serviceName, port: { name: port.servicePortName } } } }],
                        },
                    },
                ],
            },
        },
    ];
}

/** How warnings name a component. */
export function describeComponent(component: ComponentModel): string {
    return `${component.app}/${component.component}`;
}

/**
 * Whether a caller's proxy applies a split declared on a callee: an envoy sidecar routes by the
 * callee's versions itself (a cluster per version, in every mode of the callee, as every mode keeps
 * the per-version Services); Istio and Linkerd proxies follow the routes the callee's own mode
 * emits, so only when the callee is in their mode; a caller without a proxy never does.
 */
export function callerAppliesSplit(caller: ModeName, callee: ModeName): boolean {
    return caller === "envoy" || (caller === callee && (callee === "istio" || callee === "linkerd"));
}

/**
 * What becomes of a component's declared split in its mode, as warnings: who reaches every version
 * anyway (callers whose proxies do not apply it, an Ingress), in proportion to each version's
 * replicas. `ingressSplits` says whether the mode's exposure applies the split (Istio's gateway does).
 */
export function splitWarnings(component: ComponentModel, mode: ModeName, ingressSplits: boolean): string[] {
    if (!component.split) return [];
    const declared = component.split.map(({ version, weight }) => `${version} ${weight}%`).join(", ");
    const replicas = component.workloads.map((workload) => `${workload.version} ${workload.replicas}`).join(", ");
    const everyVersion = `every version in proportion to its replicas (${replicas})`;
    if (!callerAppliesSplit(mode, mode)) {
        return [`${describeComponent(component)}: mode ${mode} has no proxy to split traffic between versions (declared ${declared}); only callers in mode envoy apply it, every other caller ${component.exposed ? "and the Ingress reach" : "reaches"} ${everyVersion}`];
    }
    const bypass = component.dependents.filter((caller) => !callerAppliesSplit(caller.mode, mode)).map((caller) => `${caller.app}/${caller.component} (mode ${caller.mode})`);
    if (component.exposed && !ingressSplits) bypass.push("the Ingress");
    if (bypass.length === 0) return [];
    return [`${describeComponent(component)}: the split between its versions (declared ${declared}) is applied by the callers' proxies; ${bypass.join(", ")} ${bypass.length === 1 ? "does not apply it and reaches" : "do not apply it and reach"} ${everyVersion}`];
}
