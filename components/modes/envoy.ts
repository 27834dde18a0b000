import { serviceFqdn, type Address, type AppModel, type ComponentModel, type ComponentRef, type DependencyModel, type ExternalDependencyModel, isTlsProtocol, type Protocol, type ResolvedPort, RESERVED_PORTS, kubeName, shortHash, keyedByName, type Manifest } from "../model";
import { describeComponent, splitWarnings, ingressFor } from "./shared";
import {
    ENVOY_ADMIN_PORT,
    ENVOY_PROMETHEUS_PATH,
    ENVOY_READY_PATH,
    ENVOY_STATS_PORT,
    envoyBootstrap,
    envoyBootstrapProblems,
    envoyPolicyGaps,
    type EnvoyBootstrapInput,
} from "./envoy/bootstrap";
import { type MeshMode, type ModeNetwork, type Platform } from "./mode";

/**
 * The built-in envoy mesh (Rainbond's default): an envoy sidecar per pod with a static bootstrap,
 * no control plane. The app reaches each dependency on 127.0.0.1 at a local port the sidecar
 * listens on; the sidecar forwards to the dependency's headless Service (per-pod endpoints, so
 * balancing and outlier detection see real pods) with the destination's traffic policy. Inbound,
 * the sidecar serves the component's named ports and forwards to the app on 127.0.0.1.
 */

/** First port of the sidecar's inbound listeners (one per app port), inside the reserved range. */
const INBOUND_PORT_BASE = 15010;
/** Where local ports for dependencies are searched when a dependency's own port is taken. */
const LOCAL_PORT_FALLBACK_BASE = 20000;
const CONFIG_DIR = "/etc/envoy";
const CONFIG_FILE = "envoy.json";
/** User and group the envoy sidecar runs as. */
export const ENVOY_UID = 10101;
/** Pod annotation holding a hash of the bootstrap, so a config change rolls the pods. */
export const ENVOY_CONFIG_HASH_ANNOTATION = "pluggable-mesh.io/envoy-config-hash";

/**
 * The lowest port the sidecar may listen on. It runs as a non-root user with every capability
 * dropped, and a runtime that keeps Linux's default `net.ipv4.ip_unprivileged_port_start` (1024)
 * refuses it anything below; so a dependency on port 80 is dialled on a port from the fallback range.
 */
export const LOWEST_LOCAL_PORT = 1024;

/**
 * Externals the sidecar proxies: plaintext ones. For https and tls the app itself verifies the
 * server's certificate against the name it dialled, which 127.0.0.1 would never match; those it
 * dials at their own address, past the sidecar (envoy mode intercepts nothing).
 */
function proxiedExternals(component: ComponentModel): ExternalDependencyModel[] {
    return component.externalDependencies.filter((dependency) => !isTlsProtocol(dependency.port.protocol));
}

/**
 * Chooses the 127.0.0.1 port the app dials for each dependency, then for each external the sidecar
 * proxies: the target's own port when it is free and unprivileged, otherwise the next free port
 * from 20000. Ports the app itself listens on and the sidecar's reserved range are never handed
 * out, and two dependencies never share a port. Dependencies come first, so declaring an external
 * never moves them.
 */
export function assignLocalPorts(component: ComponentModel): number[] {
    const taken = new Set<number>(component.ports.map((port) => port.targetPort));
    const isFree = (port: number) => port >= LOWEST_LOCAL_PORT && !taken.has(port) && (port < RESERVED_PORTS.from || port > RESERVED_PORTS.to);
    let fallback = LOCAL_PORT_FALLBACK_BASE;
    const wanted = [...component.dependencies.map((dependency) => dependency.port.port), ...proxiedExternals(component).map((dependency) => dependency.port.port)];
    return wanted.map((wantedPort) => {
        let port = wantedPort;
        if (!isFree(port)) {
            while (!isFree(fallback)) fallback++;
            port = fallback;
        }
        taken.add(port);
        return port;
    });
}

function outboundName(dependency: DependencyModel): string {
    const target = dependency.target;
    return `${target.app}-${target.component}-${dependency.port.name}`;
}

/** The port the sidecar serves one of the component's ports on. */
function inboundPort(component: ComponentRef, port: ResolvedPort): number {
    return INBOUND_PORT_BASE + component.ports.findIndex((candidate) => candidate.name === port.name);
}

/**
 * The port to dial on a dependency's pods: the app's own container port, whatever the callee's
 * mode. A headless Service resolves to pod IPs with no port translation, so the caller must name a
 * port every pod of the callee serves, and while a mode switch rolls the callee runs pods of two
 * modes side by side: only the app's port is served by all of them (envoy's sidecar port exists
 * only in envoy pods). It also keeps the caller's bootstrap independent of the callee's mode, so a
 * callee's switch does not roll its callers. The price: envoy-to-envoy calls bypass the callee's
 * sidecar, whose inbound stats then count only calls through the Service; the caller's outbound
 * cluster still counts every request, retry and ejection (docs/authorization.md).
 */
function podPort(dependency: DependencyModel): number {
    return dependency.port.targetPort;
}

/**
 * The sidecar serves each named port on its inbound port (what the Service's named target port
 * resolves to in these pods); the app container still listens on its own port, which is what
 * headless-Service callers may dial. Prometheus scrapes the sidecar's stats port.
 */
const network: ModeNetwork = {
    podPorts: (component, port) => [inboundPort(component, port), port.targetPort],
    metricsPorts: () => [ENVOY_STATS_PORT],
    exposureSources: () => "any",
    controlPlaneEgress: () => [],
};

/** The dependency's versions with their weights, each on its own headless Service, when it declares a split. */
function versionSplit(dependency: DependencyModel, platform: Platform): Pick<EnvoyBootstrapInput["outbound"][number], "split"> {
    const target = dependency.target;
    if (!target.split) return {};
    return {
        split: target.split.map(({ version, weight }) => ({
            version,
            upstreamHost: serviceFqdn(target.workloads.find((workload) => workload.version === version)!.headlessServiceName!, target.namespace, platform.clusterDomain),
            weight,
        })),
    };
}

/** Everything the component's sidecar needs to know, in `component.dependencies` order. */
function bootstrapInput(component: ComponentModel, app: AppModel, platform: Platform): EnvoyBootstrapInput {
    const localPorts = assignLocalPorts(component);
    return {
        nodeId: `${app.name}.${component.component}`,
        cluster: component.serviceName,
        adminPort: ENVOY_ADMIN_PORT,
        statsPort: ENVOY_STATS_PORT,
        inbound: component.ports.map((port) => ({ portName: port.name, protocol: port.protocol, listenPort: inboundPort(component, port), appPort: port.targetPort })),
        outbound: [
            ...component.dependencies.map((dependency, index) => ({
                name: outboundName(dependency),
                protocol: dependency.port.protocol,
                localPort: localPorts[index]!,
                upstreamHost: serviceFqdn(dependency.target.headlessServiceName, dependency.target.namespace, platform.clusterDomain),
                upstreamPort: podPort(dependency),
                policy: dependency.target.traffic,
                ...versionSplit(dependency, platform),
            })),
            ...proxiedExternals(component).map((dependency, index) => ({
                // Dotted, unlike component dependencies' dashed ids, so the two can never collide.
                name: `external.${dependency.target.name}.${dependency.port.name}`,
                // proxiedExternals leaves only our own plaintext protocols.
                protocol: dependency.port.protocol as Protocol,
                localPort: localPorts[component.dependencies.length + index]!,
                upstreamHost: dependency.target.host,
                upstreamPort: dependency.port.port,
                upstreamResolution: dependency.target.hostKind === "ipv4" ? ("static" as const) : ("dns" as const),
                policy: dependency.target.traffic,
            })),
        ],
    };
}

/** Where the app dials each external: 127.0.0.1 at its local port when the sidecar proxies it, its own address otherwise. */
function externalAddresses(component: ComponentModel, input: EnvoyBootstrapInput): Address[] {
    const proxied = proxiedExternals(component);
    return component.externalDependencies.map((dependency) => {
        const index = proxied.indexOf(dependency);
        const port = index >= 0 ? input.outbound[component.dependencies.length + index]!.localPort : dependency.port.port;
        return { host: index >= 0 ? "127.0.0.1" : dependency.target.host, port, protocol: dependency.port.protocol };
    });
}

/** Sentences about externals the sidecar does not proxy, for the component's warnings. */
function unproxiedExternalGaps(component: ComponentModel): string[] {
    const passed = component.externalDependencies.filter((dependency) => isTlsProtocol(dependency.port.protocol));
    return passed.map(
        (dependency) =>
            `${describeComponent(component)}: mode envoy does not proxy ${dependency.port.protocol} port "${dependency.port.name}" of external "${dependency.target.name}": the app dials ${dependency.target.host}:${dependency.port.port} itself so it can verify the certificate, and its traffic policy is not applied`,
    );
}

export const envoyMode: MeshMode = {
    name: "envoy",
    // The sidecar runs as a non-root uid with every capability dropped and no privilege escalation.
    podSecurity: () => ({ level: "restricted", reason: "mode envoy's sidecar runs restricted" }),
    summary: "Built-in envoy sidecar with a static bootstrap; dependencies on 127.0.0.1; no control plane",
    requirements: (app, platform) =>
        app.components.flatMap((component) =>
            envoyBootstrapProblems(bootstrapInput(component, app, platform)).map((problem) => ({
                key: `app "${app.name}" component "${component.component}" (mode envoy)`,
                message: `${problem.key}: ${problem.message}`,
            })),
        ),
    decorateApp: (app) => ({
        namespaceLabels: {},
        namespaceAnnotations: {},
        objects: [],
        warnings:
            app.mtls === "STRICT"
                ? [`app "${app.name}": mode envoy proxies plaintext between sidecars and does not check callers; mtls STRICT is not enforced`]
                : [],
    }),
    decorateComponent(component, app, platform) {
        const input = bootstrapInput(component, app, platform);
        const bootstrap = JSON.stringify(envoyBootstrap(input), null, 2);
        const hash = shortHash(bootstrap, 10);
        // The content hash in the name makes each bootstrap an immutable ConfigMap: a change creates a new one and rolls the pods.
        const configMap: Manifest = {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: kubeName(component.serviceName, "envoy", hash), namespace: app.namespace },
            immutable: true,
            data: { [CONFIG_FILE]: bootstrap },
        };
        const probe = { httpGet: { path: ENVOY_READY_PATH, port: ENVOY_STATS_PORT }, periodSeconds: 2, failureThreshold: 30 };
        const sidecar = {
            name: "envoy",
            image: platform.envoyImage,
            // A native sidecar: started before the app and kept running, so the app never starts before its 127.0.0.1 listeners exist and Jobs can complete.
            restartPolicy: "Always",
            args: ["--config-path", `${CONFIG_DIR}/${CONFIG_FILE}`, "--log-level", "warn", "--drain-time-s", "5"],
            ports: [
                ...input.inbound.map((port) => ({ name: port.portName, containerPort: port.listenPort, protocol: "TCP" })),
                { name: "envoy-stats", containerPort: ENVOY_STATS_PORT, protocol: "TCP" },
            ],
            startupProbe: probe,
            readinessProbe: { ...probe, failureThreshold: 3 },
            resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
            securityContext: {
                runAsNonRoot: true,
                // Not the image's own uid 101: a uid above 10000 cannot collide with a host account (kube-score
                // container-security-context-user-group-id). Envoy only reads its mounted bootstrap, so any uid works.
                runAsUser: ENVOY_UID,
                runAsGroup: ENVOY_UID,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
            },
            volumeMounts: [{ name: "envoy-config", mountPath: CONFIG_DIR, readOnly: true }],
        };
        return {
            // The bootstrap builder sorts its listeners; the addresses keep the order of the dependencies.
            addresses: component.dependencies.map((dependency, index) => ({ host: "127.0.0.1", port: input.outbound[index]!.localPort, protocol: dependency.port.protocol })),
            externalAddresses: externalAddresses(component, input),
            pod: {
                labels: {},
                annotations: {
                    [ENVOY_CONFIG_HASH_ANNOTATION]: hash,
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": String(ENVOY_STATS_PORT),
                    "prometheus.io/path": ENVOY_PROMETHEUS_PATH,
                },
                sidecars: [sidecar],
                volumes: [{ name: "envoy-config", configMap: { name: configMap.metadata.name } }],
                sidecarServesPorts: true,
            },
            serviceAnnotations: {},
            objects: [{ key: `${component.serviceName}-envoy`, manifest: configMap }, ...keyedByName(ingressFor(component, app, platform))],
            warnings: [
                ...(component.trafficDeclared ? input.outbound.flatMap(envoyPolicyGaps).map((gap) => `${describeComponent(component)}: mode envoy: ${gap}`) : []),
                ...splitWarnings(component, "envoy", false),
                ...unproxiedExternalGaps(component),
            ],
        };
    },
    network,
};
