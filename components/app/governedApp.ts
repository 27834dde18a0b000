import * as pulumi from "@pulumi/pulumi";
import { given, SECRET_NAME, type AppSpecInput, type Manifest, type ModeName, type NetworkPolicyLevel, type Problem } from "../model";
import { PLATFORM_DEFAULTS, type IstioPlatform, type LinkerdPlatform, type NetworkPeer, type Platform, type PodSecurityPolicy } from "../modes";
import { failOnProblems, registerManifest, type IstioPlatformArgs } from "../resources";
import { checkApps, type AppInput } from "./plan";
import { renderApp } from "./render";

/** What the platform offers the app's mode. Each field falls back to {@link PLATFORM_DEFAULTS}. */
export interface GovernedAppPlatformArgs {
    /** DNS domain of Service FQDNs. @default "cluster.local" */
    clusterDomain?: string;
    /** SPIFFE trust domain of workload identities; must be the control plane's. @default the Istio control plane's, else "cluster.local" */
    trustDomain?: string;
    /** The Istio control plane, needed by istio mode: `controlPlane.platform`. @default none */
    istio?: IstioPlatformArgs;
    /** A Linkerd control plane installed elsewhere, needed by linkerd mode (its namespace, default inbound policy, proxy-await). @default none */
    linkerd?: LinkerdPlatform;
    /** IngressClass of exposed components in modes that use Kubernetes Ingress. @default the cluster's default class */
    ingressClassName?: string;
    /** Whether the cluster has an ingress controller that gives Ingresses an address (false: Pulumi does not wait for one). @default true */
    ingressController?: boolean;
    /** The envoy sidecar image of envoy mode. @default the pinned envoy release */
    envoyImage?: string;
    /**
     * NetworkPolicies of the app: `ingress` (each component admits only its declared callers, the
     * Prometheus below, and its gateway or Ingress controller), `ingress+egress` (also: each reaches
     * only DNS, its dependencies and its mode's control plane) or `off`. @default "ingress"
     */
    networkPolicies?: NetworkPolicyLevel;
    /** The Prometheus that scrapes sidecar metrics (`prometheusPeer(observability.namespace)`), admitted by NetworkPolicies. @default none */
    prometheus?: NetworkPeer;
    /**
     * Pod Security admission levels of the app's namespace: `enforce` a level, or `auto` (the
     * strictest the mode and components pass; a fixed level they would not pass is refused);
     * `warn` and `audit`. @default { enforce: "auto", warn: "restricted", audit: "restricted" }
     */
    podSecurity?: Partial<PodSecurityPolicy>;
}

/** Another app this app's components may call, or that calls them: its spec and mode, as plain data. */
export interface AppPeer {
    /** The peer's spec, as written; its `name` is how dependencies name it (`<name>/<component>`). */
    spec: AppSpecInput;
    /** The peer's mode. @default "native" */
    mode?: ModeName;
}

/**
 * The app as its team writes it: the same fields as an app spec file (`components`, `namespace`,
 * `traffic`, `mtls`, ...; one zod schema for both), plus the mode and the platform. The app's name
 * is the component's name.
 */
export interface GovernedAppArgs extends Omit<AppSpecInput, "name" | "mode"> {
    /** How the app is governed: `native`, `envoy`, `istio` or `linkerd`. @default "native" */
    mode?: ModeName;
    /** What the platform offers the mode (Istio or Linkerd control plane, domains, envoy image). @default {@link PLATFORM_DEFAULTS}, no control plane */
    platform?: GovernedAppPlatformArgs;
    /**
     * Apps in other GovernedApps that this app depends on or that depend on it. Addresses and
     * authorization across apps are derived from them, so list every app on either side of a
     * cross-app dependency. @default []
     */
    peers?: readonly AppPeer[];
    /**
     * Secret values the components reference by name (`env: { DB_PASSWORD: { secret: "dbPassword" } }`,
     * `secretFiles: [{ path, secret: "dbPassword" }]`), for example `config.requireSecret("dbPassword")`.
     * Each component gets a Kubernetes Secret with the values it references, registered as a Pulumi
     * secret; its workload only refers to it. @default {}
     */
    secrets?: Record<string, pulumi.Input<string>>;
}

/** The platform with every default applied, as the modes read it. */
export function resolvePlatform(args: GovernedAppPlatformArgs = {}): Platform {
    const { istio, podSecurity, ...rest } = args;
    const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
    const podSecurityDefined = Object.fromEntries(Object.entries(podSecurity ?? {}).filter(([, value]) => value !== undefined));
    return {
        ...PLATFORM_DEFAULTS,
        ...(istio === undefined ? {} : { trustDomain: istio.trustDomain }),
        ...defined,
        podSecurity: { ...PLATFORM_DEFAULTS.podSecurity, ...podSecurityDefined },
        ...(istio === undefined ? {} : { istio: withoutReady(istio) }),
    };
}

/** A platform whose trust domain differs from its Istio control plane's would write principals istiod never issues. */
function platformProblems(name: string, platform: Platform): Problem[] {
    const istio = platform.istio;
    return istio !== undefined && istio.trustDomain !== platform.trustDomain
        ? [{ key: `GovernedApp ${name}: platform.trustDomain`, message: `${given(platform.trustDomain)} differs from the Istio control plane's trust domain ${given(istio.trustDomain)}; leave it out to use the control plane's` }]
        : [];
}

/**
 * A Secret of named secret values: each value goes in as a Pulumi secret (encrypted in the state,
 * `[secret]` in previews and diffs). The SDK's Secret class itself marks the outputs `data` and
 * `stringData` secret (additionalSecretOutputs), whatever the inputs were.
 */
function registerSecret(name: string, manifest: Manifest, names: readonly string[], secrets: Readonly<Record<string, pulumi.Input<string>>>, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const stringData = Object.fromEntries(names.map((key) => [key, pulumi.secret(secrets[key]!)]));
    return registerManifest(name, { ...manifest, stringData }, opts);
}

/** Secret names become keys of a Kubernetes Secret and are referenced from specs: the same rule as the spec's references. */
function secretNameProblems(name: string, secrets: Readonly<Record<string, unknown>>): Problem[] {
    return Object.keys(secrets)
        .filter((secret) => !SECRET_NAME.test(secret))
        .map((secret) => ({ key: `GovernedApp ${name}: secrets`, message: `${given(secret)} is not a secret name; use a letter, then letters, digits, '_' or '-' (at most 63)` }));
}

function withoutReady({ ready: _ready, ...istio }: IstioPlatformArgs): IstioPlatform {
    return istio;
}

/**
 * An app of components governed by a mesh mode. The mode decides sidecars, labels and policies;
 * names, selectors, Services and volume claims are the same in every mode, so switching `mode` is
 * an in-place rolling update. The app and its peers are validated before anything is registered;
 * a mistake fails with every problem at once and no stack trace.
 *
 * ```ts
 * const istio = new IstioControlPlane("istio", { gateway: { enabled: true } });
 * new GovernedApp("shop", {
 *     mode: "istio",
 *     platform: { istio: istio.platform },
 *     components: [{ name: "web", image: "ghcr.io/acme/web:1.4.2", ports: [{ name: "http", port: 80 }] }],
 * });
 * ```
 */
export class GovernedApp extends pulumi.ComponentResource {
    /** The namespace the app runs in. */
    public readonly namespace: string;
    /** The mode the app is governed by. */
    public readonly mode: ModeName;
    /** Internal domain names (Service names) by component. */
    public readonly services: Record<string, string>;
    /** This app as a peer of other GovernedApps (its spec and mode). */
    public readonly peer: AppPeer;

    constructor(name: string, args: GovernedAppArgs, opts?: pulumi.ComponentResourceOptions) {
        const { mode = "native", platform: platformArgs, peers = [], secrets = {}, ...appSpec } = args;
        const spec: AppSpecInput = { ...appSpec, name };
        const platform = resolvePlatform(platformArgs);
        const inputs: AppInput[] = [
            { spec, mode, source: `GovernedApp ${name}`, secrets: { names: Object.keys(secrets), source: `the GovernedApp's secrets argument` } },
            ...peers.map((peer, index) => ({ spec: peer.spec, mode: peer.mode ?? "native", source: `GovernedApp ${name}: peers[${index}]` })),
        ];
        // Validate before registering anything, the component included.
        const { apps, problems } = checkApps(inputs, { platform });
        failOnProblems([...platformProblems(name, platform), ...secretNameProblems(name, secrets), ...problems]);
        super("pluggable-mesh:app:GovernedApp", name, {}, opts);

        const app = apps[0]!;
        const rendered = renderApp(app, platform);
        for (const warning of rendered.warnings) pulumi.log.warn(warning, this);

        const platformReady = platformArgs?.istio?.ready === undefined ? [] : [platformArgs.istio.ready];
        let namespace: pulumi.Resource | undefined;
        for (const object of rendered.objects) {
            const dependsOn = namespace ? [...platformReady, namespace] : platformReady;
            const isNamespace = object.manifest.kind === "Namespace";
            // A shared namespace outlives its owner: deleting it would delete the other apps' objects (and volume claims) with it.
            const retain = isNamespace && app.retainNamespace ? { retainOnDelete: true } : {};
            const ignore = object.ignoreChanges ? { ignoreChanges: object.ignoreChanges } : {};
            const resource = object.secretValues
                ? registerSecret(object.name, object.manifest, object.secretValues, secrets, { parent: this, dependsOn })
                : registerManifest(object.name, object.manifest, { parent: this, dependsOn, ...retain, ...ignore });
            if (isNamespace) namespace = resource;
        }

        this.namespace = app.namespace;
        this.mode = app.mode;
        this.services = Object.fromEntries(app.components.filter((c) => c.ports.length > 0).map((c) => [c.component, c.serviceName]));
        this.peer = { spec, mode };
        this.registerOutputs({ namespace: this.namespace, mode: this.mode, services: this.services });
    }
}
