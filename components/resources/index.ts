/**
 * Pulumi-side helpers the components share: the error that fails a preview with every problem and
 * no stack trace, and the registration of plain manifests as Kubernetes resources.
 */
export { ConfigError, failOnProblems } from "./errors";
export { registerManifest } from "./register";
export type { IstioPlatformArgs } from "./platform";
