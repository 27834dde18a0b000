/**
 * Kiali (v2) server configuration, as a plain object (serialize it with `yaml`). Pure, so the
 * ConfigMap and the pod template checksum only change when the configuration does.
 *
 * Keys checked against kiali/kiali v2.27.0 `config/config.go`.
 */

/** How users log in to Kiali. `token`: a Kubernetes ServiceAccount token; `anonymous`: no login. */
export type KialiAuthStrategy = "token" | "anonymous";

/** Every auth strategy we support; the stack config layer refuses `anonymous` in production. */
export const KIALI_AUTH_STRATEGIES: readonly KialiAuthStrategy[] = ["token", "anonymous"];

/** Port of Kiali's UI and API. */
export const KIALI_PORT = 20001;

/** Port of Kiali's own Prometheus metrics. */
export const KIALI_METRICS_PORT = 9090;

/** URL path Kiali serves under (Kiali's default). */
export const KIALI_WEB_ROOT = "/kiali";

/**
 * Where Kiali looks for credential overrides: a file in `/kiali-override-secrets/<name>/` replaces
 * the configured value (kiali `config.go`: `overrideSecretsDir`, `SecretFileLoginTokenSigningKey`).
 */
export const KIALI_SIGNING_KEY_MOUNT_PATH = "/kiali-override-secrets/login-token-signing-key";

/** Inputs of {@link kialiConfig}. */
export interface KialiConfigOptions {
    /** Namespace Kiali runs in (`deployment.namespace`). */
    namespace: string;
    /** Login strategy. */
    authStrategy: KialiAuthStrategy;
    /** In-cluster URL of Prometheus, e.g. `http://prometheus.istio-system.svc.cluster.local:9090`. */
    prometheusUrl: string;
    /** Name of the Secret holding the session signing key. */
    signingKeySecretName: string;
    /** Key inside that Secret. */
    signingKeySecretKey: string;
}

/**
 * Kiali's config.yaml.
 *
 * - `external_services.prometheus.url` is explicit: Kiali v2 refuses to start with Prometheus
 *   enabled and no URL, and guessing the Service name is what broke earlier setups.
 * - There is no `istio_namespace` key in Kiali v2 (it was Kiali v1's): Kiali finds every control
 *   plane itself by listing Deployments labelled `app=istiod` cluster-wide (`kubernetes/istio.go`).
 *   What it does need is its own namespace, `deployment.namespace`.
 * - `login_token.signing_key` uses Kiali's `secret:<name>:<key>` reference; the Secret is mounted
 *   under {@link KIALI_SIGNING_KEY_MOUNT_PATH}, which Kiali reads at start and on rotation. If the
 *   mount were missing the literal reference would fail Kiali's 16/24/32-byte key check, so Kiali
 *   fails closed instead of running with a guessable key.
 * - `deployment.view_only_mode`: Istio config belongs to Pulumi; edits through the UI would be
 *   reverted by the next `up` (or fight it), so Kiali is read-only and its RBAC matches.
 * - Grafana and tracing are disabled because this program installs neither.
 */
export function kialiConfig(options: KialiConfigOptions): Record<string, unknown> {
    return {
        auth: { strategy: options.authStrategy },
        deployment: {
            namespace: options.namespace,
            instance_name: "kiali",
            cluster_wide_access: true,
            view_only_mode: true,
        },
        external_services: {
            prometheus: { enabled: true, url: options.prometheusUrl },
            grafana: { enabled: false },
            tracing: { enabled: false },
            custom_dashboards: { enabled: true },
        },
        login_token: {
            signing_key: `secret:${options.signingKeySecretName}:${options.signingKeySecretKey}`,
        },
        server: {
            port: KIALI_PORT,
            web_root: KIALI_WEB_ROOT,
            observability: { metrics: { enabled: true, port: KIALI_METRICS_PORT } },
        },
    };
}

/**
 * Kiali encrypts session cookies with AES using the signing key, so a key must be 16, 24 or 32
 * bytes: kiali/kiali `config/config.go` `validateSigningKey` refuses any other `len()` (Go counts
 * bytes) unless the auth strategy is anonymous. Returns a message when it is not, else undefined;
 * the message never contains the key, any part of it or its length.
 */
export function checkSigningKey(signingKey: string): string | undefined {
    const length = Buffer.byteLength(signingKey, "utf8");
    if (length === 16 || length === 24 || length === 32) {
        return undefined;
    }
    return "is set (the value is not shown), but Kiali accepts only a signing key of exactly 16, 24 or 32 bytes; e.g. `openssl rand -hex 16` gives 32";
}
