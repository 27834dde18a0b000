/**
 * A platform team's own Pulumi program using pluggable-mesh as a library, with no stack YAML:
 * an Istio control plane with its ingress gateway, a `shop` app governed by Istio, and a
 * `catalog` app it depends on, governed by our envoy sidecars. Switching either app's mode is a
 * change of one argument; the addresses each component reads follow the mode.
 *
 *   import { GovernedApp, IstioControlPlane } from "pluggable-mesh";
 *
 * Run it like any Pulumi TypeScript program (`pulumi up`), with a kubeconfig for the cluster. Where
 * Istio's chart repository cannot be reached, `pulumi config set istioChartsDir <folder>` points
 * the control plane at unpacked charts instead.
 */
import * as pulumi from "@pulumi/pulumi";
import { GovernedApp, IstioControlPlane, type AppPeer } from "pluggable-mesh";

const config = new pulumi.Config();
const istio = new IstioControlPlane("istio", { gateway: { enabled: true }, localChartsDir: config.get("istioChartsDir") });

// The catalog team's app: a gRPC service and its PostgreSQL, in envoy mode.
const catalog: AppPeer = {
    mode: "envoy",
    spec: {
        name: "catalog",
        traffic: { timeout: "5s", retries: { attempts: 3, retryOn: ["unavailable", "connect-failure"] } },
        components: [
            {
                name: "catalog-api",
                image: "ghcr.io/acme/catalog-api:2.3.1",
                ports: [{ name: "grpc", port: 9090, protocol: "grpc" }],
                dependsOn: [{ target: "catalog-db", env: { DATABASE_HOST: "host", DATABASE_PORT: "port" } }],
                resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
            },
            {
                name: "catalog-db",
                image: "docker.io/library/postgres:17.2",
                ports: [{ name: "postgres", port: 5432, protocol: "tcp" }],
                storage: { size: "5Gi", mountPath: "/var/lib/postgresql/data" },
                resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
            },
        ],
    },
};

// The shop team's app, in istio mode, calling the catalog across apps.
const shop: AppPeer = {
    mode: "istio",
    spec: {
        name: "shop",
        mtls: "STRICT",
        components: [
            {
                name: "web",
                image: "ghcr.io/acme/shop-web:1.4.2",
                ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "http" }],
                dependsOn: ["catalog/catalog-api"],
                expose: { port: "http", host: "shop.example.com" },
                resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
            },
        ],
    },
};

const platform = { istio: istio.platform };
const apps = [shop, catalog].map((self) => {
    const { name, ...spec } = self.spec;
    return new GovernedApp(name, { ...spec, mode: self.mode, platform, peers: [shop, catalog].filter((peer) => peer !== self) });
});

export const istioNamespace = istio.namespace;
export const services = Object.fromEntries(apps.map((app) => [app.peer.spec.name, app.services]));
