/**
 * The labels and annotations the policy pack reads: the whole contract between the pack and a
 * program. Any program can set them (pluggable-mesh's own components emit them); the pack imports
 * nothing else, so it runs against any Pulumi program that uses `@pulumi/kubernetes`.
 */

/**
 * On a workload or its pod template: why it cannot run under the restricted Pod Security Standard
 * (for example "the upstream image starts as root and drops privileges itself"). A non-empty reason
 * exempts the workload from `workload-security-profile`, and the reason is shown in the report.
 */
export const SECURITY_EXEMPTION_ANNOTATION = "pluggable-mesh.io/security-exemption";

/**
 * On a Service of type LoadBalancer: which setting asked for the exposure (for example
 * "pluggable-mesh:istio.gateway.serviceType"). Without it, `loadbalancer-needs-exposure` fails.
 */
export const EXPOSURE_ANNOTATION = "pluggable-mesh.io/exposure";

/**
 * On a PeerAuthentication whose mode is PERMISSIVE in production: which callers outside the mesh
 * still need plaintext. Without it, `production-mtls` asks for STRICT.
 */
export const PERMISSIVE_REASON_ANNOTATION = "pluggable-mesh.io/permissive-reason";
