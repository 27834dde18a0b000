/** The Istio control plane: its component, the arguments' checks and defaults, and the Istio/Kubernetes support matrix. */
export * from "./controlPlane";
export * from "./support";
