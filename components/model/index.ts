/**
 * The neutral model: the app spec schema, the model built from it, traffic policy, Kubernetes
 * names, problems and plain manifests. The bottom layer: it imports no Pulumi and nothing else
 * of ours, so modes, components and tools can all build on it.
 */
export * from "./limits";
export * from "./manifest";
export * from "./model";
export * from "./names";
export * from "./podSecurity";
export * from "./policy";
export * from "./problems";
export * from "./spec";
export * from "./syntax";
export * from "./userText";
export * from "./workloads";
export * from "./workloadSpec";
export * from "./zodProblems";
