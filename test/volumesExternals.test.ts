import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { checkApps } from "../components/app/plan";
import { renderApp } from "../components/app/render";
import type { Platform } from "../components/modes/mode";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { validateEnvoyBootstrap } from "./support/envoyApi";
import { FEATURES_SPEC, findObject, kubeObjects, MODE_NAMES, objectsOfKind, ruoyiConfig, runProgram, type KubeObject, type ModeName } from "./support/meshRuns";
import { validateManifest } from "./support/schemas";

/**
 * Volumes, external dependencies and exposure without a host name (docs/volumes-and-externals.md),
 * on the fixture app test/fixtures/volumes-externals.yaml in every mode: what each mode emits, with
 * exact values, checked against upstream schemas and envoy's protos; and the problems a hostile
 * spec gets, with their full text.
 */

const NS = "features";

/** A stack that offers every mode, deploying only the fixture app. */
function featuresConfig(mode: ModeName, extra: Record<string, string> = {}): Record<string, string> {
    return ruoyiConfig(mode, { "pluggable-mesh:apps": JSON.stringify([{ spec: FEATURES_SPEC }]), ...extra });
}

const PLATFORM: Platform = loadStack(ruoyiConfig("native"), { projectRoot: PROJECT_ROOT }).platform;

function fixture(): Record<string, any> {
    return parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, FEATURES_SPEC), "utf8")) as Record<string, any>;
}

/** The problems of a changed copy of the fixture, as `key: message` lines. */
function problemsOf(change: (spec: Record<string, any>) => void, mode: ModeName = "native"): string[] {
    const spec = fixture();
    change(spec);
    return checkApps([{ spec, mode, source: "features.yaml" }], { platform: PLATFORM }).problems.map((problem) => `${problem.key}: ${problem.message}`);
}

const runs = new Map<ModeName, KubeObject[]>();
async function objectsIn(mode: ModeName): Promise<KubeObject[]> {
    if (!runs.has(mode)) runs.set(mode, kubeObjects((await runProgram(featuresConfig(mode))).resources).filter((object) => object.manifest.metadata?.namespace === NS || object.manifest.metadata?.name === NS));
    return runs.get(mode)!;
}

function envOf(objects: readonly KubeObject[]): Record<string, string> {
    const container = findObject(objects, "Deployment", "api", NS).spec.template.spec.containers[0];
    return Object.fromEntries((container.env as { name: string; value: string }[]).map((entry) => [entry.name, entry.value]));
}

function filesOf(objects: readonly KubeObject[]): string {
    const files = objectsOfKind(objects, "ConfigMap").filter((map) => (map.metadata.name as string).startsWith("api-files-"));
    assert.equal(files.length, 1);
    return files[0]!.data["file-0-upstreams.conf"] as string;
}

function bootstrapsOf(objects: readonly KubeObject[]): any[] {
    return objectsOfKind(objects, "ConfigMap")
        .filter((map) => typeof map.data?.["envoy.json"] === "string")
        .map((map) => JSON.parse(map.data["envoy.json"] as string));
}

function bootstrapOf(objects: readonly KubeObject[], component: string): any {
    const maps = objectsOfKind(objects, "ConfigMap").filter((map) => (map.metadata.name as string).startsWith(`${component}-envoy-`));
    assert.equal(maps.length, 1);
    return JSON.parse(maps[0]!.data["envoy.json"] as string);
}

/** How the app reaches each external (and the component store), in the four formats, for the first port of each. */
function externalEnv(billing: string, payments: string, ledger: string, store: string): Record<string, string> {
    const forms = (prefix: string, address: string, scheme: string) => {
        const [host, port] = address.split(":") as [string, string];
        return { [`${prefix}_HOST`]: host, [`${prefix}_PORT`]: port, [`${prefix}_ADDR`]: address, [`${prefix}_URL`]: `${scheme}://${address}` };
    };
    return {
        ...forms("BILLING_DB_POSTGRES", billing, "tcp"),
        ...forms("BILLING_DB", billing, "tcp"),
        DATABASE_ADDR: billing,
        ...forms("PAYMENTS_HTTPS", payments, "https"),
        ...forms("PAYMENTS", payments, "https"),
        ...forms("LEDGER_HTTP", ledger, "http"),
        ...forms("LEDGER", ledger, "http"),
        ...forms("STORE_REDIS", store, "tcp"),
        ...forms("STORE", store, "tcp"),
    };
}

describe("external dependencies", () => {
    for (const mode of MODE_NAMES) {
        describe(`mode ${mode}`, () => {
            it("every object passes its upstream schema, and every envoy bootstrap envoy's protos", async () => {
                const objects = await objectsIn(mode);
                const failures: string[] = [];
                for (const object of objects) await validateManifest(object.manifest as { apiVersion: string; kind: string }).catch((error: Error) => failures.push(error.message));
                assert.deepEqual(failures, []);
                const bootstraps = bootstrapsOf(objects);
                assert.equal(bootstraps.length, mode === "envoy" ? 2 : 0);
                for (const bootstrap of bootstraps) assert.deepEqual(validateEnvoyBootstrap(bootstrap), []);
            });

            it(mode === "envoy" ? "plaintext externals on 127.0.0.1 through the sidecar, https at its own address" : "the address the spec declares, in env and config files alike", async () => {
                const objects = await objectsIn(mode);
                const [billing, payments, ledger, store] =
                    mode === "envoy"
                        ? ["127.0.0.1:5432", "api.payments.example.com:443", "127.0.0.1:20000", "127.0.0.1:6379"]
                        : ["billing.db.example.com:5432", "api.payments.example.com:443", "10.20.0.5:8080", "store.features.svc.cluster.local:6379"];
                assert.deepEqual(envOf(objects), externalEnv(billing, payments, ledger, store));
                assert.equal(filesOf(objects), `payments https://${payments}\nledger http://${ledger}\ndatabase ${billing}\n`);
            });
        });
    }

    it("istio: a MESH_EXTERNAL ServiceEntry per external (DNS, or STATIC for an IPv4 address), exported to the app's namespace only", async () => {
        const objects = await objectsIn("istio");
        const entries = objectsOfKind(objects, "ServiceEntry")
            .map((entry) => [entry.metadata.name, entry.metadata.annotations, entry.spec])
            .sort(([a], [b]) => a.localeCompare(b));
        assert.deepEqual(entries, [
            ["billing-db.external", { "galley.istio.io/analyze-suppress": "IST0134" }, { hosts: ["billing.db.example.com"], location: "MESH_EXTERNAL", ports: [{ number: 5432, name: "postgres", protocol: "TCP" }], resolution: "DNS", exportTo: ["."] }],
            [
                "ledger.external",
                undefined,
                {
                    hosts: ["ledger.features.external"],
                    addresses: ["10.20.0.5"],
                    location: "MESH_EXTERNAL",
                    ports: [{ number: 8080, name: "http", protocol: "HTTP" }],
                    resolution: "STATIC",
                    endpoints: [{ address: "10.20.0.5" }],
                    exportTo: ["."],
                },
            ],
            ["payments.external", undefined, { hosts: ["api.payments.example.com"], location: "MESH_EXTERNAL", ports: [{ number: 443, name: "https", protocol: "HTTPS" }], resolution: "DNS", exportTo: ["."] }],
        ]);
    });

    it("istio: the traffic policy as a DestinationRule per external (billing-db's own 2s connect timeout) and a VirtualService for the HTTP one", async () => {
        const objects = await objectsIn("istio");
        const rule = findObject(objects, "DestinationRule", "billing-db.external", NS).spec;
        assert.deepEqual(rule, {
            host: "billing.db.example.com",
            exportTo: ["."],
            trafficPolicy: {
                connectionPool: { tcp: { maxConnections: 1024, connectTimeout: "2s" }, http: { http1MaxPendingRequests: 1024, http2MaxRequests: 1024 } },
                outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
            },
        });
        assert.deepEqual(objectsOfKind(objects, "DestinationRule").map((r) => r.metadata.name).sort(), ["api", "billing-db.external", "ledger.external", "payments.external", "store"]);
        assert.deepEqual(findObject(objects, "DestinationRule", "ledger.external", NS).spec.host, "ledger.features.external");
        assert.deepEqual(objectsOfKind(objects, "VirtualService").map((r) => r.metadata.name).sort(), ["api", "ledger.external"]);
        assert.deepEqual(findObject(objects, "VirtualService", "ledger.external", NS).spec, {
            hosts: ["ledger.features.external"],
            exportTo: ["."],
            http: [
                {
                    match: [{ port: 8080 }],
                    route: [{ destination: { host: "ledger.features.external", port: { number: 8080 } } }],
                    timeout: "10s",
                    retries: { attempts: 2, perTryTimeout: "5s", retryOn: "connect-failure,refused-stream,reset,unavailable,cancelled" },
                },
            ],
        });
    });

    it("envoy: a STRICT_DNS cluster for a DNS name, a STATIC one for an IPv4 address, with the external's policy; no cluster for https", async () => {
        const bootstrap = bootstrapOf(await objectsIn("envoy"), "api");
        const clusters = bootstrap.static_resources.clusters.filter((cluster: any) => cluster.name.includes("external"));
        assert.deepEqual(
            clusters.map((cluster: any) => [cluster.name, cluster.type, cluster.connect_timeout, cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address]),
            [
                ["outbound|5432|external.billing-db.postgres", "STRICT_DNS", "2s", { address: "billing.db.example.com", port_value: 5432 }],
                ["outbound|20000|external.ledger.http", "STATIC", "5s", { address: "10.20.0.5", port_value: 8080 }],
            ],
        );
        const ledger = bootstrap.static_resources.listeners.find((listener: any) => listener.name === "outbound|20000|external.ledger.http");
        const route = ledger.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route;
        assert.deepEqual(route, {
            cluster: "outbound|20000|external.ledger.http",
            auto_host_rewrite: true,
            timeout: "10s",
            retry_policy: { retry_on: "connect-failure,refused-stream,reset,unavailable,cancelled", num_retries: 2, per_try_timeout: "5s" },
        });
    });

    it("no mode emits a Service for an external (no ExternalName Service, so switching mode deletes none)", async () => {
        for (const mode of MODE_NAMES) {
            const objects = await objectsIn(mode);
            assert.deepEqual(
                objectsOfKind(objects, "Service").map((service) => `${service.metadata.name} ${service.spec.type ?? "headless"}`).sort(),
                ["api ClusterIP", "api-headless headless", "api-public LoadBalancer", "store ClusterIP", "store-headless headless", "store-public NodePort"],
            );
        }
    });

    it("istio: says that a TCP port of an external found by DNS needs DNS capture", () => {
        const spec = fixture();
        const { apps } = checkApps([{ spec, mode: "istio", source: "features.yaml" }], { platform: PLATFORM });
        const warnings = renderApp(apps[0]!, PLATFORM).warnings;
        assert.deepEqual(
            warnings.filter((warning) => warning.includes("DNS")),
            [
                'app "features": mode istio applies external "billing-db"\'s policy on tcp port "postgres" only when sidecars capture DNS (meshConfig.defaultConfig.proxyMetadata ISTIO_META_DNS_CAPTURE "true"): a plain TCP connection is told apart by IP and the app resolves billing.db.example.com itself, so otherwise it passes through unmanaged (outboundTrafficPolicy ALLOW_ANY) or is blocked (REGISTRY_ONLY)',
            ],
        );
    });
});

describe("external dependencies: hostile specs", () => {
    const host = (value: string) => problemsOf((spec) => (spec.externals[0].host = value));
    const allowed = 'use a fully qualified DNS name such as "db.example.com" or an IPv4 address such as "10.20.0.5"';

    it("refuses loopback, link-local (the metadata service), unspecified, multicast and malformed IPv4 addresses", () => {
        assert.deepEqual(host("127.0.0.1"), [`features.yaml: externals[0].host: "127.0.0.1" is loopback 127.0.0.0/8 (the pod itself), not a service outside the cluster; ${allowed}`]);
        assert.deepEqual(host("169.254.169.254"), [`features.yaml: externals[0].host: "169.254.169.254" is link-local 169.254.0.0/16 (the cloud metadata service lives there), not a service; ${allowed}`]);
        assert.deepEqual(host("0.0.0.0"), [`features.yaml: externals[0].host: "0.0.0.0" is the unspecified network 0.0.0.0/8, not a service outside the cluster; ${allowed}`]);
        assert.deepEqual(host("239.1.1.1"), [`features.yaml: externals[0].host: "239.1.1.1" is multicast or reserved (224.0.0.0/3), not a service outside the cluster; ${allowed}`]);
        assert.deepEqual(host("10.0.0.256"), [`features.yaml: externals[0].host: "10.0.0.256" is not an IPv4 address (four parts 0-255, no leading zeros); ${allowed}`]);
        assert.deepEqual(host("010.0.0.1"), [`features.yaml: externals[0].host: "010.0.0.1" is not an IPv4 address (four parts 0-255, no leading zeros); ${allowed}`]);
    });

    it("refuses IPv6, a port in the host, single labels, in-cluster names and bad DNS names", () => {
        assert.deepEqual(host("fd00::1"), [`features.yaml: externals[0].host: "fd00::1" is an IPv6 address or has a port; IPv6 is not supported and the port belongs in ports, so ${allowed}`]);
        assert.deepEqual(host("db.example.com:5432"), [`features.yaml: externals[0].host: "db.example.com:5432" is an IPv6 address or has a port; IPv6 is not supported and the port belongs in ports, so ${allowed}`]);
        assert.deepEqual(host("billing"), [`features.yaml: externals[0].host: "billing" is a single label, which the pod's DNS search domains would resolve inside the cluster; ${allowed}`]);
        assert.deepEqual(host("mysql.ruoyi.svc.cluster.local"), [
            `features.yaml: externals[0].host: "mysql.ruoyi.svc.cluster.local" is a name inside the cluster; depend on the component itself (dependsOn: app/component) instead of an external`,
        ]);
        assert.deepEqual(host("mysql.ruoyi.svc"), [`features.yaml: externals[0].host: "mysql.ruoyi.svc" is a name inside the cluster; depend on the component itself (dependsOn: app/component) instead of an external`]);
        assert.deepEqual(host("db.localhost"), [`features.yaml: externals[0].host: "db.localhost" is the pod itself, not a service outside the cluster; ${allowed}`]);
        assert.deepEqual(host("Db_1.example.com"), [
            `features.yaml: externals[0].host: "Db_1.example.com" is not a host name; use dot-separated labels of lowercase letters, digits and '-' (none empty, each at most 63 characters), at most 253 characters, e.g. "app.example.com"`,
        ]);
        assert.deepEqual(host(`${"a".repeat(70)}.example.com`), [
            `features.yaml: externals[0].host: "${"a".repeat(60)}…" (82 characters) is not a host name; use dot-separated labels of lowercase letters, digits and '-' (none empty, each at most 63 characters), at most 253 characters, e.g. "app.example.com"`,
        ]);
    });

    it("accepts private addresses and public names (negative control)", () => {
        assert.deepEqual(host("10.1.2.3"), []);
        assert.deepEqual(host("192.168.0.10"), []);
        assert.deepEqual(host("db.other-cluster.example.internal"), []);
    });

    it("refuses bad ports and protocols, names shared with a component or declared twice, and ports used twice", () => {
        assert.deepEqual(
            problemsOf((spec) => {
                spec.externals[0].ports = [
                    { name: "pg", port: 5432 },
                    { name: "pg", port: 5432 },
                ];
                spec.externals[1].name = "api";
                spec.externals[2].name = "billing-db";
            }),
            [
                'features.yaml: externals[0].ports[1].name: port name "pg" is used twice in external "billing-db"',
                'features.yaml: externals[0].ports[1].port: port 5432 is used twice in external "billing-db"',
                'features.yaml: externals[1].name: "api" is already a component of app "features"; externals and components share one set of names',
                'features.yaml: externals[2].name: external "billing-db" is declared twice in app "features"',
                // Every consequence is listed at once: the renamed externals are gone, so their references fail too.
                'features.yaml: components[0].dependsOn[0].env: "billing-db" has 2 ports; name one ("billing-db:pg") to map variables to its address',
                'features.yaml: components[0].dependsOn[1]: "payments" is not a component of this app; known: api, store, billing-db (external)',
                'features.yaml: components[0].dependsOn[2]: "ledger" is not a component of this app; known: api, store, billing-db (external)',
                'features.yaml: components[0].configFiles[0].content: placeholder "{{ payments.https.url }}" refers to no declared dependency; declare "payments:https" in dependsOn',
                'features.yaml: components[0].configFiles[0].content: placeholder "{{ ledger.http.url }}" refers to no declared dependency; declare "ledger:http" in dependsOn',
                'features.yaml: components[0].configFiles[0].content: placeholder "{{ billing-db.postgres.address }}" refers to no declared dependency; declare "billing-db:postgres" in dependsOn',
            ],
        );
        assert.deepEqual(
            problemsOf((spec) => {
                spec.externals[0].ports[0].port = 70000;
                spec.externals[1].ports[0].protocol = "udp";
            }),
            [
                "features.yaml: externals[0].ports[0].port: expected at most 65535, given 70000",
                'features.yaml: externals[1].ports[0].protocol: "udp" is not a protocol; use one of http, http2, grpc, tcp, https, tls',
            ],
        );
    });

    it("refuses an unknown port of an external, another app's external and a placeholder for an undeclared external", () => {
        assert.deepEqual(
            problemsOf((spec) => {
                spec.components[0].dependsOn = [
                    "billing-db:mysql",
                    "other/billing-db",
                    { target: "payments", env: { PAYMENTS_HOST: "host" } },
                ];
            }),
            [
                'features.yaml: components[0].dependsOn[0]: "mysql" is not a port of external "billing-db"; use one of postgres',
                'features.yaml: components[0].dependsOn[1]: "other/billing-db" is not a component of app "other"; known: (none)',
                'features.yaml: components[0].configFiles[0].content: placeholder "{{ ledger.http.url }}" refers to no declared dependency; declare "ledger:http" in dependsOn',
                'features.yaml: components[0].configFiles[0].content: placeholder "{{ billing-db.postgres.address }}" refers to no declared dependency; declare "billing-db:postgres" in dependsOn',
            ],
        );
    });
});

describe("external dependencies: variable names", () => {
    it("a name the app maps for an external wins over a component's default, with a warning naming both", () => {
        const spec = fixture();
        spec.components[0].dependsOn[1] = { target: "payments", env: { STORE_HOST: "host" } };
        const { apps, problems } = checkApps([{ spec, mode: "native", source: "features.yaml" }], { platform: PLATFORM });
        assert.deepEqual(problems, []);
        assert.deepEqual(apps[0]!.warnings, ['features.yaml: components[0].dependsOn[3]: default variable STORE_HOST (the host of "store") is not set; dependsOn[1] ("payments") sets STORE_HOST']);
        assert.deepEqual(apps[0]!.components[0]!.externalDependencies[1]!.env.at(-1), { name: "STORE_HOST", format: "host" });
    });
});

describe("volumes beyond storage", () => {
    for (const mode of MODE_NAMES) {
        it(`${mode}: emptyDir (disk and memory, with size limits) and an existing ConfigMap's files, read-only, after the config files`, async () => {
            const pod = findObject(await objectsIn(mode), "Deployment", "api", NS).spec.template.spec;
            const own = (pod.volumes as { name: string }[]).filter((volume) => ["cache", "scratch", "settings"].includes(volume.name));
            assert.deepEqual(own, [
                { name: "cache", emptyDir: { sizeLimit: "256Mi" } },
                { name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
                { name: "settings", configMap: { name: "api-settings", items: [{ key: "limits.json", path: "limits.json" }] } },
            ]);
            assert.deepEqual(pod.containers[0].volumeMounts.slice(1), [
                { name: "cache", mountPath: "/var/cache/nginx" },
                { name: "scratch", mountPath: "/run/scratch" },
                { name: "settings", mountPath: "/etc/api/settings", readOnly: true },
            ]);
        });

        it(`${mode}: storage's claim "data" first and unchanged, then each claim volume: two claims on one StatefulSet`, async () => {
            const store = findObject(await objectsIn(mode), "StatefulSet", "store", NS);
            assert.deepEqual(store.spec.volumeClaimTemplates, [
                { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
                { metadata: { name: "backups" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "512Mi" } } } },
            ]);
            assert.deepEqual(store.spec.template.spec.containers[0].volumeMounts, [
                { name: "data", mountPath: "/data" },
                { name: "backups", mountPath: "/backups" },
            ]);
        });
    }

    it("a claim volume alone makes a StatefulSet, with the access mode and class asked for", () => {
        const spec = fixture();
        spec.components[0].volumes.push({ name: "shared", mountPath: "/shared", claim: { size: "2Gi", storageClass: "fast", accessMode: "ReadWriteMany" } });
        const { apps, problems } = checkApps([{ spec, mode: "native", source: "features.yaml" }], { platform: PLATFORM });
        assert.deepEqual(problems, []);
        const api = renderApp(apps[0]!, PLATFORM).objects.filter((object) => object.manifest.metadata.name === "api" && ["Deployment", "StatefulSet"].includes(object.manifest.kind));
        assert.deepEqual(
            api.map((object) => [object.manifest.kind, (object.manifest.spec as any).volumeClaimTemplates]),
            [["StatefulSet", [{ metadata: { name: "shared" }, spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "2Gi" } }, storageClassName: "fast" } }]]],
        );
    });

    /** Volumes the model refuses (no source, two, reserved names, a mount point taken); the schema checks the rest first. */
    const badVolumes = () => [
        { name: "empty", mountPath: "/empty" },
        { name: "both", mountPath: "/both", emptyDir: { sizeLimit: "1Gi" }, claim: { size: "1Gi" } },
        { name: "data", mountPath: "/d", emptyDir: { sizeLimit: "1Gi" } },
        { name: "istio-envoy", mountPath: "/i", emptyDir: { sizeLimit: "1Gi" } },
        { name: "cache", mountPath: "/etc/api/upstreams.conf", emptyDir: { sizeLimit: "1Gi" } },
    ];

    it("refuses a volume without a source or with two, reserved and repeated names, a mount point used twice, and bad ConfigMap items", () => {
        assert.deepEqual(
            problemsOf((spec) => {
                spec.components[0].volumes = [
                    ...badVolumes(),
                    { name: "cache", mountPath: "/c2", configMap: { name: "x", items: [{ key: "a/b", path: "../up" }] } },
                    { name: "big", mountPath: "/big", emptyDir: { sizeLimit: "lots" } },
                ];
            }),
            [
                'features.yaml: components[0].volumes[5].configMap.items[0].key: "a/b" is not a ConfigMap key; use letters, digits, \'-\', \'_\' and \'.\', at most 253 characters',
                "features.yaml: components[0].volumes[5].configMap.items[0].path: \"../up\" is not a relative file path; use a path without a leading '/', '..' segments or NUL, naming a file, at most 253 characters",
                'features.yaml: components[0].volumes[6].emptyDir.sizeLimit: "lots" is not a Kubernetes quantity; use a number with an optional suffix, such as "500m", "256Mi" or "10Gi"',
            ],
        );
        assert.deepEqual(
            problemsOf((spec) => {
                spec.components[0].volumes = [...badVolumes(), { name: "cache", mountPath: "/c2", configMap: { name: "x" } }];
            }),
            [
                'features.yaml: components[0].volumes[0]: volume "empty" has no source; give exactly one of emptyDir, configMap, claim',
                'features.yaml: components[0].volumes[1]: volume "both" has 2 sources (emptyDir, claim); give exactly one of emptyDir, configMap, claim',
                'features.yaml: components[0].volumes[2].name: "data" is reserved for volumes the modes and meshes add; choose a name that is not data, config-files, envoy-config, workload-socket, credential-socket, workload-certs and starts with none of istio-, istiod-, linkerd-, envoy-',
                'features.yaml: components[0].volumes[3].name: "istio-envoy" is reserved for volumes the modes and meshes add; choose a name that is not data, config-files, envoy-config, workload-socket, credential-socket, workload-certs and starts with none of istio-, istiod-, linkerd-, envoy-',
                'features.yaml: components[0].volumes[5].name: volume name "cache" is used twice in component "api"',
                'features.yaml: components[0].volumes[4].mountPath: "/etc/api/upstreams.conf" is the same mount point as configFiles[0].path; each path may be mounted once',
            ],
        );
    });
});

describe("exposure without a host name", () => {
    for (const mode of MODE_NAMES) {
        it(`${mode}: a Service of its own per published component, LoadBalancer or NodePort, with named target ports; the main Service is untouched`, async () => {
            const objects = await objectsIn(mode);
            assert.deepEqual(findObject(objects, "Service", "api-public", NS).spec, {
                type: "LoadBalancer",
                selector: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "features" },
                ports: [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP", appProtocol: "http" }],
                loadBalancerSourceRanges: ["203.0.113.0/24"],
            });
            assert.deepEqual(findObject(objects, "Service", "store-public", NS).spec, {
                type: "NodePort",
                selector: { "app.kubernetes.io/name": "store", "app.kubernetes.io/instance": "features" },
                ports: [{ name: "tcp-redis", port: 6379, targetPort: "redis", protocol: "TCP", appProtocol: "tcp", nodePort: 30079 }],
            });
            assert.equal(findObject(objects, "Service", "api", NS).spec.type, "ClusterIP");
        });
    }

    it("the public Services are identical in every mode (switching mode never replaces them)", async () => {
        const services = async (mode: ModeName) => objectsOfKind(await objectsIn(mode), "Service").filter((service) => (service.metadata.name as string).endsWith("-public"));
        const native = await services("native");
        for (const mode of MODE_NAMES) assert.deepEqual(await services(mode), native, mode);
    });

    it("istio STRICT: plaintext admitted on the published container ports only (port-level PERMISSIVE), and an AuthorizationPolicy rule for any source there, with a warning", () => {
        const spec = fixture();
        const { apps } = checkApps([{ spec, mode: "istio", source: "features.yaml" }], { platform: PLATFORM, defaultMtls: "STRICT" });
        const rendered = renderApp(apps[0]!, PLATFORM);
        const manifest = (kind: string, name: string) => rendered.objects.find((object) => object.manifest.kind === kind && object.manifest.metadata.name === name)!.manifest;
        assert.deepEqual(manifest("PeerAuthentication", "api"), {
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: { name: "api", namespace: "features", annotations: { "pluggable-mesh.io/permissive-reason": "published on Service LoadBalancer api-public: port 8080 (http)" } },
            spec: { selector: { matchLabels: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "features" } }, mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "PERMISSIVE" } } },
        });
        assert.deepEqual((manifest("PeerAuthentication", "store").spec as any).portLevelMtls, { "6379": { mode: "PERMISSIVE" } });
        assert.deepEqual((manifest("AuthorizationPolicy", "store").spec as any).rules, [
            { from: [{ source: { principals: ["cluster.local/ns/features/sa/features-api"] } }], to: [{ operation: { ports: ["6379"] } }] },
            { to: [{ operation: { ports: ["6379"] } }] },
        ]);
        assert.deepEqual((manifest("AuthorizationPolicy", "api").spec as any).rules, [{ to: [{ operation: { ports: ["8080"] } }] }]);
        assert.deepEqual(
            rendered.warnings.filter((warning) => warning.includes("published")),
            [
                "features/api: mode istio accepts plaintext from outside the mesh on published container port(s) 8080 (PeerAuthentication portLevelMtls PERMISSIVE, and an AuthorizationPolicy rule for any source); an HTTP port exposed through the ingress gateway (expose) keeps mTLS and the traffic policy instead",
                "features/store: mode istio accepts plaintext from outside the mesh on published container port(s) 6379 (PeerAuthentication portLevelMtls PERMISSIVE, and an AuthorizationPolicy rule for any source); an HTTP port exposed through the ingress gateway (expose) keeps mTLS and the traffic policy instead",
            ],
        );
    });

    it("istio PERMISSIVE: no port-level setting and no warning (negative control)", () => {
        const { apps } = checkApps([{ spec: fixture(), mode: "istio", source: "features.yaml" }], { platform: PLATFORM, defaultMtls: "PERMISSIVE" });
        const rendered = renderApp(apps[0]!, PLATFORM);
        const peer = rendered.objects.find((object) => object.manifest.kind === "PeerAuthentication" && object.manifest.metadata.name === "api")!.manifest;
        assert.deepEqual(peer.metadata.annotations, undefined);
        assert.deepEqual(peer.spec, { selector: { matchLabels: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "features" } }, mtls: { mode: "PERMISSIVE" } });
        assert.deepEqual(rendered.warnings.filter((warning) => warning.includes("published")), []);
    });

    it("refuses an unknown or repeated port, a repeated node port in a component and across the stack, out-of-range node ports, source ranges on a NodePort, bad CIDRs and a Service name taken", () => {
        assert.deepEqual(
            problemsOf((spec) => {
                spec.components[0].publish.ports = [{ port: "grpc" }, { port: "http", nodePort: 30079 }, { port: "http" }];
                spec.components[1].publish.sourceRanges = ["10.0.0.0/8"];
                spec.components.push({ name: "api-public", image: "docker.io/library/nginx:1.27.3" });
            }),
            [
                'features.yaml: components[2].name: internal domain name "api-public" is already used in namespace "features" by features/api; it must be unique per namespace',
                "features.yaml: components[1].publish.ports[0].nodePort: node port 30079 is already published by features/api; a node port is unique in the cluster",
                'features.yaml: components[0].publish.ports[0].port: "grpc" is not a port of component "api"; use one of http',
                'features.yaml: components[0].publish.ports[2].port: port "http" is published twice',
                "features.yaml: components[1].publish.sourceRanges: source ranges restrict a load balancer; a NodePort Service has none, so use type LoadBalancer or drop sourceRanges",
            ],
        );
        assert.deepEqual(
            problemsOf((spec) => {
                spec.components[0].publish.ports = [{ port: "http", nodePort: 8080 }];
                spec.components[0].publish.sourceRanges = ["10.0.0.1/8", "10.0.0.0/33", "::/0"];
                spec.components[1].publish.type = "ExternalName";
            }),
            [
                "features.yaml: components[0].publish.ports[0].nodePort: expected at least 30000, given 8080",
                'features.yaml: components[0].publish.sourceRanges[0]: "10.0.0.1/8" has host bits set beyond /8; give the network address of the range',
                'features.yaml: components[0].publish.sourceRanges[1]: "10.0.0.0/33" is not an IPv4 CIDR; use an address and a prefix length, such as "203.0.113.0/24"',
                'features.yaml: components[0].publish.sourceRanges[2]: "::/0" is not an IPv4 CIDR; use an address and a prefix length, such as "203.0.113.0/24"',
                'features.yaml: components[1].publish.type: "ExternalName" is not allowed; use one of LoadBalancer, NodePort',
            ],
        );
    });
});

describe("NetworkPolicies for published ports and externals", () => {
    let policies: Record<string, any>;
    before(async () => {
        const run = await runProgram(featuresConfig("istio", { "pluggable-mesh:networkPolicies": "ingress+egress" }));
        policies = Object.fromEntries(objectsOfKind(kubeObjects(run.resources), "NetworkPolicy").filter((policy) => policy.metadata.namespace === NS).map((policy) => [policy.metadata.name, policy.spec]));
    });

    it("a published port admits any source, on every pod port that serves it", () => {
        assert.deepEqual(policies.api.ingress, [{ ports: [4143, 8080, 15010].map((port) => ({ protocol: "TCP", port })) }]);
        assert.deepEqual(policies.store.ingress.at(-1), { ports: [4143, 6379, 15010].map((port) => ({ protocol: "TCP", port })) });
    });

    it("egress to an external by IPv4 address is a /32 block; by name any destination, on the declared ports only", () => {
        const external = (policies.api.egress as Record<string, any>[]).filter((rule) => rule.to === undefined || rule.to.some((peer: Record<string, unknown>) => "ipBlock" in peer));
        assert.deepEqual(external, [
            { ports: [{ protocol: "TCP", port: 5432 }] },
            { ports: [{ protocol: "TCP", port: 443 }] },
            { to: [{ ipBlock: { cidr: "10.20.0.5/32" } }], ports: [{ protocol: "TCP", port: 8080 }] },
        ]);
        assert.equal((policies.store.egress as Record<string, any>[]).filter((rule) => rule.to === undefined).length, 0, "store declares no external");
    });
});
