import { describeComponent, ingressFor, serviceDnsAddresses } from "./shared";
import { emptyPod, keyedByName, type MeshMode } from "./mode";

/**
 * Kubernetes only: Deployments or StatefulSets behind ClusterIP Services, dependencies reached by
 * Service DNS name. Nothing enforces traffic policy or mTLS, so declaring them earns a warning.
 */
export const nativeMode: MeshMode = {
    name: "native",
    summary: "Kubernetes Services only; dependencies by Service DNS name; no sidecar",
    requirements: () => [],
    decorateApp: (app) => ({
        namespaceLabels: {},
        namespaceAnnotations: {},
        objects: [],
        warnings: app.mtls === "STRICT" ? [`app "${app.name}": mode native does not encrypt or authenticate traffic; mtls STRICT is not enforced`] : [],
    }),
    decorateComponent: (component, app, platform) => ({
        addresses: serviceDnsAddresses(component, platform),
        pod: emptyPod(),
        serviceAnnotations: {},
        objects: keyedByName(ingressFor(component, app, platform)),
        warnings: component.trafficDeclared
            ? [`${describeComponent(component)}: mode native does not enforce its traffic policy (timeouts, retries, circuit breaking); callers must implement it`]
            : [],
    }),
};
