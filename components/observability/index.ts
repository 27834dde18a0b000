/** Prometheus and Kiali for the mesh, built from plain Kubernetes objects. */
export * from "./observability";
export { checkSigningKey } from "./kialiConfig";
export { PROMETHEUS_PORT } from "./prometheusConfig";
