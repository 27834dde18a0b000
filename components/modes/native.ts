import { declaredExternalAddresses, describeComponent, externalsWithDeclaredTraffic, splitWarnings, ingressFor, serviceDnsAddresses } from "./shared";
import { emptyPod, PLAIN_NETWORK, type MeshMode } from "./mode";
import { keyedByName } from "../model";

/**
 * Kubernetes only: Deployments or StatefulSets behind ClusterIP Services, dependencies reached by
 * Service DNS name. Nothing enforces traffic policy or mTLS, so declaring them earns a warning.
 */
export const nativeMode: MeshMode = {
    name: "native",
    summary: "Kubernetes Services only; dependencies by Service DNS name; no sidecar",
    requirements: () => [],
    decorateApp(app) {
        const declared = [...app.components.filter((component) => component.trafficDeclared).map(describeComponent), ...externalsWithDeclaredTraffic(app)];
        return {
            namespaceLabels: {},
            namespaceAnnotations: {},
            objects: [],
            warnings: [
                ...(app.mtls === "STRICT" ? [`app "${app.name}": mode native does not encrypt or authenticate traffic; mtls STRICT is not enforced`] : []),
                ...(declared.length > 0
                    ? [`app "${app.name}": mode native does not enforce traffic policy (timeouts, retries, circuit breaking) declared for ${declared.join(", ")}; callers must implement it`]
                    : []),
            ],
        };
    },
    decorateComponent: (component, app, platform) => ({
        addresses: serviceDnsAddresses(component, platform),
        externalAddresses: declaredExternalAddresses(component),
        pod: emptyPod(),
        serviceAnnotations: {},
        objects: keyedByName(ingressFor(component, app, platform)),
        warnings: splitWarnings(component, "native", false),
    }),
    network: PLAIN_NETWORK,
    podSecurity: () => ({ level: "restricted", reason: "mode native adds nothing to pods" }),
};
