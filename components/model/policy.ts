/**
 * Mode-neutral traffic policy. Every mesh mode translates it into its own terms (envoy route and
 * cluster settings, Istio DestinationRule/VirtualService, Linkerd annotations); a mode that cannot
 * honour part of it says so instead of dropping it silently.
 *
 * The policy belongs to the *destination* component: it says how callers must treat it. That way
 * every mode applies the same numbers whether it configures the caller (envoy) or the callee (Istio).
 */

/** Application protocol of a port; decides HTTP-aware routing versus plain TCP proxying. */
export type Protocol = "http" | "http2" | "grpc" | "tcp";

export const PROTOCOLS: readonly Protocol[] = ["http", "http2", "grpc", "tcp"];

/**
 * Protocol of a port outside the stack (an external dependency): ours, plus TLS that the mesh can
 * only pass through, since the app itself verifies the server's certificate. `https` is HTTP over
 * TLS (its URL is `https://`); `tls` is any other protocol over TLS, from its first byte.
 */
export type ExternalProtocol = Protocol | "https" | "tls";

export const EXTERNAL_PROTOCOLS: readonly ExternalProtocol[] = [...PROTOCOLS, "https", "tls"];

/** True when the app itself speaks TLS to the port, so a proxy in between can only pass the bytes through. */
export function isTlsProtocol(protocol: ExternalProtocol): protocol is "https" | "tls" {
    return protocol === "https" || protocol === "tls";
}

/** True when a protocol is HTTP-based, so requests (not just connections) can be timed and retried. */
export function isHttpProtocol(protocol: Protocol): boolean {
    return protocol !== "tcp";
}

export interface RetryPolicy {
    /** Retries after the first attempt; 0 disables retries. */
    attempts: number;
    /** Timeout of each attempt, in milliseconds. */
    perTryTimeoutMs: number;
    /** Conditions that trigger a retry, in envoy's `retry_on` vocabulary (also Istio's `retryOn`). */
    retryOn: string[];
}

export interface CircuitBreakerPolicy {
    /** Maximum concurrent connections to the destination. */
    maxConnections: number;
    /** Maximum requests queued while waiting for a connection. */
    maxPendingRequests: number;
    /** Maximum concurrent requests (HTTP/2 and gRPC). */
    maxRequests: number;
    /** Consecutive 5xx (or connect) errors that eject an endpoint. */
    consecutiveErrors: number;
    /** How often endpoints are analysed for ejection, in milliseconds. */
    intervalMs: number;
    /** Minimum ejection duration, in milliseconds. */
    baseEjectionTimeMs: number;
    /** Upper bound of endpoints ejected at once, in percent. */
    maxEjectionPercent: number;
}

export interface TrafficPolicy {
    /** Whole-request timeout including retries, in milliseconds (HTTP protocols only). */
    timeoutMs: number;
    /** Connect timeout for new upstream connections, in milliseconds. */
    connectTimeoutMs: number;
    retries: RetryPolicy;
    circuitBreaker: CircuitBreakerPolicy;
}

/** Formats milliseconds as a protobuf JSON / Istio duration string ("1.5s", "15s"). */
export function durationString(ms: number): string {
    const seconds = ms / 1000;
    return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(3).replace(/0+$/, "")}s`;
}

/**
 * The retry conditions an app spec may name. The vocabulary is envoy's `retry_on` (router
 * `x-envoy-retry-on` and `x-envoy-retry-grpc-on`), which Istio passes through as `retryOn` too;
 * envoy ignores unknown words silently, so the spec rejects them instead.
 */
export const RETRY_CONDITIONS: readonly string[] = [
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

/**
 * Which NetworkPolicies apps get: `ingress` (each component admits only its declared callers and
 * what the platform needs), `ingress+egress` (also: each component reaches only DNS, its declared
 * dependencies and its mode's control plane), or `off`.
 */
export const NETWORK_POLICY_LEVELS = ["ingress", "ingress+egress", "off"] as const;
export type NetworkPolicyLevel = (typeof NETWORK_POLICY_LEVELS)[number];
