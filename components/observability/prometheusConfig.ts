/**
 * Prometheus configuration for the mesh, as a plain object (serialize it with `yaml`). Pure: the
 * same inputs give the same config, so the ConfigMap and its checksum only change when it does.
 */

/** Port Prometheus listens on (and the in-cluster Service port). */
export const PROMETHEUS_PORT = 9090;

/** The port name istiod's Service gives its monitoring port (15014). */
export const ISTIOD_MONITORING_PORT_NAME = "http-monitoring";

/** Inputs of {@link prometheusConfig}. */
export interface PrometheusConfigOptions {
    /** Namespace of istiod, whose Service endpoints are scraped. */
    istioNamespace: string;
    /** How often targets are scraped, as a Prometheus duration. */
    scrapeInterval: string;
    /** Per-scrape timeout; must not exceed the interval. */
    scrapeTimeout: string;
}

/** A Prometheus relabel rule; only the fields we use. */
export interface RelabelConfig {
    source_labels?: string[];
    separator?: string;
    regex?: string;
    target_label?: string;
    replacement?: string;
    action?: "replace" | "keep" | "drop" | "labelmap" | "labeldrop" | "labelkeep";
}

/** A Prometheus scrape job; only the fields we use. */
export interface ScrapeConfig {
    job_name: string;
    honor_labels?: boolean;
    metrics_path?: string;
    static_configs?: { targets: string[] }[];
    kubernetes_sd_configs?: { role: "pod" | "endpointslice"; namespaces?: { names: string[] } }[];
    relabel_configs?: RelabelConfig[];
}

/** The Prometheus configuration file; only the fields we use. */
export interface PrometheusConfig {
    global: { scrape_interval: string; scrape_timeout: string; evaluation_interval: string };
    scrape_configs: ScrapeConfig[];
}

/** Pod annotation → Prometheus meta label, as Kubernetes SD sanitizes names (`.`/`/` → `_`). */
function podAnnotation(annotation: string): string {
    return `__meta_kubernetes_pod_annotation_${annotation.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

const SCRAPE = podAnnotation("prometheus.io/scrape");
const PORT = podAnnotation("prometheus.io/port");
const PATH = podAnnotation("prometheus.io/path");
const SCHEME = podAnnotation("prometheus.io/scheme");

/**
 * Scrape jobs:
 * - `prometheus`: itself.
 * - `istiod`: istiod's Service endpoints in the Istio namespace, port `http-monitoring` (15014).
 *   Matches `istiod` and revisioned `istiod-<rev>` Services. Uses the `endpointslice` role because
 *   the Endpoints API is deprecated since Kubernetes 1.33.
 * - `kubernetes-pods`: every pod annotated `prometheus.io/scrape: "true"`, at `prometheus.io/port`
 *   and `prometheus.io/path`. This one job covers Istio sidecars (the injector sets these
 *   annotations to the agent's merged endpoint, 15020 `/stats/prometheus`, which also carries the
 *   app's own metrics) and envoy-mode pods (annotated 15090 `/stats/prometheus`). A separate
 *   `envoy-stats` job on `*-envoy-prom` ports, as some Istio guides show, would scrape sidecars twice.
 */
export function prometheusConfig(options: PrometheusConfigOptions): PrometheusConfig {
    return {
        global: {
            scrape_interval: options.scrapeInterval,
            scrape_timeout: options.scrapeTimeout,
            evaluation_interval: "1m",
        },
        scrape_configs: [
            {
                job_name: "prometheus",
                static_configs: [{ targets: [`localhost:${PROMETHEUS_PORT}`] }],
            },
            {
                job_name: "istiod",
                kubernetes_sd_configs: [{ role: "endpointslice", namespaces: { names: [options.istioNamespace] } }],
                relabel_configs: [
                    {
                        source_labels: ["__meta_kubernetes_service_name", "__meta_kubernetes_endpointslice_port_name"],
                        action: "keep",
                        regex: `istiod(-[a-z0-9-]+)?;${ISTIOD_MONITORING_PORT_NAME}`,
                    },
                ],
            },
            {
                job_name: "kubernetes-pods",
                // Keep the app's own labels (e.g. `namespace` in Istio metrics) over the target's.
                honor_labels: true,
                kubernetes_sd_configs: [{ role: "pod" }],
                relabel_configs: [
                    { source_labels: [SCRAPE], action: "keep", regex: "true" },
                    // Finished pods keep their IPs for a while; another pod may already use them.
                    { source_labels: ["__meta_kubernetes_pod_phase"], action: "drop", regex: "Pending|Succeeded|Failed|Completed" },
                    { source_labels: [SCHEME], action: "replace", regex: "(https?)", target_label: "__scheme__" },
                    { source_labels: [PATH], action: "replace", regex: "(.+)", target_label: "__metrics_path__" },
                    // Address = pod IP + annotated port; IPv6 addresses need brackets.
                    {
                        source_labels: [PORT, "__meta_kubernetes_pod_ip"],
                        action: "replace",
                        regex: "(\\d+);([0-9.]+)",
                        replacement: "$2:$1",
                        target_label: "__address__",
                    },
                    {
                        source_labels: [PORT, "__meta_kubernetes_pod_ip"],
                        action: "replace",
                        regex: "(\\d+);([0-9A-Fa-f]*:[0-9A-Fa-f:.]*)",
                        replacement: "[$2]:$1",
                        target_label: "__address__",
                    },
                    { action: "labelmap", regex: "__meta_kubernetes_pod_label_(.+)" },
                    { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
                    { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
                ],
            },
        ],
    };
}
