import { serviceFqdn, type Address, type AppModel, type ComponentModel, type Manifest } from "../model";
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
 * The warning of a mode that cannot split traffic between a component's versions: its Service
 * balances over the pods of every version, so each version gets a share in proportion to its replicas.
 */
export function splitNotHonoured(component: ComponentModel, mode: string): string[] {
    if (!component.split) return [];
    const declared = component.split.map(({ version, weight }) => `${version} ${weight}%`).join(", ");
    const replicas = component.workloads.map((workload) => `${workload.version} ${workload.replicas}`).join(", ");
    return [
        `${describeComponent(component)}: mode ${mode} cannot split traffic between versions (declared ${declared}); the Service spreads requests over the pods of every version in proportion to their replicas (${replicas})`,
    ];
}
