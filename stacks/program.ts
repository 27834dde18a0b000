import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { GovernedApp, IstioControlPlane, Observability, peersData, platformData, type AppPeer, type AppSpecInput, type PeersData, type PlatformData } from "../components";
import { failOnProblems } from "../components/resources";
import { checkStackConfig, loadStack } from "./load";
import { readStackReferences } from "./fleet";
import { relatedAppIndexes } from "./peers";

/** Stack outputs: plain values a reviewer or another stack can use. */
export interface StackOutputs {
    /** Per app: namespace, mode and the internal domain name of each component. */
    apps: Record<string, { namespace: string; mode: string; services: Record<string, string> }>;
    /** The Istio control plane, when the stack installs one. */
    istio?: { namespace: string; version: string; revision?: string; podInjectionLabels: Record<string, string> };
    /** Where Kiali answers (with observability). */
    kialiUrl?: pulumi.Output<string>;
    /** In-cluster Prometheus URL (with observability). */
    prometheusUrl?: string;
    /** Kiali login token, a secret (with observability and token auth). */
    kialiToken?: pulumi.Output<string>;
    /** What app stacks' modes use (every stack that is its own platform: no `platformStack`). See docs/fleet.md. */
    platform?: PlatformData;
    /** This stack's apps as other stacks' apps see them (every stack with apps). See docs/fleet.md. */
    peers?: PeersData;
}

/**
 * The whole program: validate config, read the stacks it names (an app stack's platform stack and
 * peer stacks, through StackReferences), validate the app specs against them (nothing is
 * registered when anything is wrong), then the platform, then the apps. `stacks/index.ts` runs it
 * under the Pulumi CLI; the offline render and the tests run the very same function. It is a user
 * of the library (`components/index.ts`) like any other Pulumi program.
 */
export async function pluggableMesh(projectRoot: string = path.resolve(__dirname, "..")): Promise<StackOutputs> {
    const raw = pulumi.runtime.allConfig();
    const stackName = pulumi.getStack();
    const { config } = checkStackConfig(raw, stackName);
    // Only a stack that names other stacks waits for anything before it registers.
    const read = config.platformStack === undefined && config.peerStacks.length === 0 ? { problems: [] } : await readStackReferences(config);
    failOnProblems(read.problems);
    const stack = loadStack(raw, { projectRoot, stackName, references: read.references });
    for (const warning of stack.warnings) pulumi.log.warn(warning);

    const target = stack.config.kubernetes;
    // One explicit provider when the stack says where objects go; otherwise the default provider (ambient kubeconfig).
    const provider = target
        ? new k8s.Provider("kubernetes", {
              renderYamlToDirectory: target.renderYamlToDirectory && path.resolve(projectRoot, target.renderYamlToDirectory),
              kubeconfig: target.kubeconfig,
              context: target.context,
          })
        : undefined;
    const providers = provider ? { providers: [provider] } : {};

    const controlPlane = stack.istioControlPlane ? new IstioControlPlane("istio", stack.istioControlPlane, providers) : undefined;

    const { kialiSigningKey } = stack.config;
    // loadStack has checked these arguments (and the key's length), so the component's own checks never fire here.
    const observability = stack.observability
        ? new Observability(
              "observability",
              { ...stack.observability, signingKey: kialiSigningKey === undefined ? undefined : pulumi.secret(kialiSigningKey), istioReady: controlPlane?.ready },
              { dependsOn: controlPlane ? [controlPlane] : [], ...providers },
          )
        : undefined;

    // Every app sees the others as peers, so addresses and authorization across apps are derived
    // from the same specs that loadStack has already validated together.
    const peers: AppPeer[] = stack.appInputs.map((input, index) => {
        const model = stack.apps[index]!;
        return { spec: { ...(input.spec as AppSpecInput), mtls: model.mtls }, mode: model.mode };
    });
    // The peer stacks' apps, as they exported themselves, after this stack's own (their models in the same order).
    const everyone = [...peers, ...stack.peers];
    const models = [...stack.apps, ...stack.peerModels];
    // Every value wrapped as a Pulumi secret, however it was set: encrypted in the state, [secret] in every preview.
    const secrets = Object.fromEntries(Object.entries(stack.config.secrets).map(([name, value]) => [name, pulumi.secret(value)]));
    const platform = { ...stack.platform, istio: stack.platform.istio && { ...stack.platform.istio, ready: controlPlane?.ready } };
    const apps: StackOutputs["apps"] = {};
    peers.forEach((self, index) => {
        const { name, ...spec } = self.spec;
        // Only the apps it calls, is called by or shares its namespace with: the others change nothing it renders (see relatedAppIndexes).
        const others = relatedAppIndexes(models, index).map((other) => everyone[other]!);
        const governed = new GovernedApp(name, { ...spec, mode: self.mode, platform, peers: others, secrets }, providers);
        apps[name] = { namespace: governed.namespace, mode: governed.mode, services: governed.services };
    });

    const ownPlatform = stack.config.platformStack === undefined;
    return {
        apps,
        ...(ownPlatform ? { platform: platformData({ ...stack.platform, production: stack.config.production }) } : {}),
        ...(peers.length > 0 ? { peers: peersData(peers) } : {}),
        ...(controlPlane
            ? { istio: { namespace: controlPlane.namespace, version: controlPlane.version, revision: controlPlane.revision, podInjectionLabels: controlPlane.podInjectionLabels } }
            : {}),
        ...(observability ? { kialiUrl: observability.kialiUrl, prometheusUrl: observability.prometheusUrl, kialiToken: observability.kialiToken } : {}),
    };
}
