/**
 * Shared set-up of the mode, switch, schema and bad-config suites: the RuoYi app run through the
 * real program under the mock engine, per mode, and helpers to pick its objects apart.
 */
import { pluggableMesh, type StackOutputs } from "../../stacks/program";
import { MODE_NAMES, type ModeName } from "../../components/model";
import { apiVersionKindOf as engineApiVersionKindOf, PROJECT_ROOT, runWithMocks, type MockRun, type RegisteredResource } from "../../mocks/mockEngine";

export { MODE_NAMES, type ModeName };

export const RUOYI_SPEC = "stacks/apps/ruoyi.yaml";
/** One app with every feature of docs/volumes-and-externals.md (volumes, externals, exposure without a host). */
export const FEATURES_SPEC = "test/fixtures/volumes-externals.yaml";

/** A value for RuoYi's MySQL root password in tests; tests that render it assert it never shows. */
export const TEST_SECRET_VALUE = "test-only-Zq8vX2mN4pR7";

/** The stack key with the secret values RuoYi references (`mysqlRootPassword`), as Pulumi hands it to the program. */
export const RUOYI_SECRETS: Record<string, string> = { "pluggable-mesh:secrets": JSON.stringify({ mysqlRootPassword: TEST_SECRET_VALUE }) };

/** Helm charts are rendered by the provider, not by us: their inputs are chart arguments, not objects. */
const CHART_TYPE = "kubernetes:helm.sh/v4:Chart";

/**
 * A stack that offers every mode what it needs: an installed Istio control plane with its ingress
 * gateway (the RuoYi UI is exposed) and an existing Linkerd. Only `mode` differs between modes.
 */
export function ruoyiConfig(mode: ModeName, extra: Record<string, string> = {}): Record<string, string> {
    return {
        "pluggable-mesh:mode": mode,
        "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", gateway: { enabled: true } }),
        "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing" }),
        "pluggable-mesh:apps": JSON.stringify([{ spec: RUOYI_SPEC }]),
        ...RUOYI_SECRETS,
        ...extra,
    };
}

/** The app that uses every workload field (probes, autoscaling, budgets, jobs): test/workloads.test.ts. */
export const WORKLOADS_SPEC = "test/fixtures/workloads.yaml";

/** A stack that deploys the workloads fixture in one mode, with every platform a mode may need. */
export function workloadsConfig(mode: ModeName): Record<string, string> {
    return { ...ruoyiConfig(mode), "pluggable-mesh:apps": JSON.stringify([{ spec: WORKLOADS_SPEC }]) };
}

export const BOOKINFO_SPEC = "stacks/apps/bookinfo.yaml";

/** The stack of {@link ruoyiConfig}, deploying Istio's Bookinfo sample instead of RuoYi. */
export function bookinfoConfig(mode: ModeName): Record<string, string> {
    return { ...ruoyiConfig(mode), "pluggable-mesh:apps": JSON.stringify([{ spec: BOOKINFO_SPEC }]) };
}

/** Runs the whole program under mocks. */
export function runProgram(config: Record<string, string>, stack = "test"): Promise<MockRun<StackOutputs>> {
    return runWithMocks(() => pluggableMesh(PROJECT_ROOT), { stack, config });
}

/** A Kubernetes object as registered: its apiVersion/kind rebuilt from the type token, the inputs as the provider gets them (secrets plain). */
export interface KubeObject {
    resource: RegisteredResource;
    apiVersion: string;
    kind: string;
    manifest: Record<string, any>;
}

/** `kubernetes:<group>/<version>:<Kind>` → apiVersion and kind (`core/v1` is plain `v1`). */
export function apiVersionKindOf(type: string): { apiVersion: string; kind: string } {
    const typed = engineApiVersionKindOf(type);
    if (!typed) throw new Error(`not a Kubernetes type token: ${type}`);
    return typed;
}

/** Every Kubernetes object a run emits (charts excluded), with apiVersion/kind from the type token. */
export function kubeObjects(resources: readonly RegisteredResource[]): KubeObject[] {
    return resources
        .filter((resource) => resource.type.startsWith("kubernetes:") && resource.type !== CHART_TYPE)
        .map((resource) => {
            const isCustom = resource.type.startsWith("kubernetes:apiextensions.k8s.io/v1:CustomResource");
            const { apiVersion, kind } = isCustom
                ? { apiVersion: resource.inputs.apiVersion as string, kind: resource.inputs.kind as string }
                : apiVersionKindOf(resource.type);
            return { resource, apiVersion, kind, manifest: { ...resource.inputs, apiVersion, kind } };
        });
}

/** The one object of a kind with a given Kubernetes name (and namespace, when given); fails when there is not exactly one. */
export function findObject(objects: readonly KubeObject[], kind: string, name: string, namespace?: string): Record<string, any> {
    const found = objects.filter(
        (object) => object.kind === kind && object.manifest.metadata?.name === name && (namespace === undefined || object.manifest.metadata?.namespace === namespace),
    );
    if (found.length !== 1) {
        throw new Error(`expected one ${kind} named ${name}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.manifest.metadata?.name}`).join(", ")}`);
    }
    return found[0]!.manifest;
}

export function objectsOfKind(objects: readonly KubeObject[], kind: string): Record<string, any>[] {
    return objects.filter((object) => object.kind === kind).map((object) => object.manifest);
}

/** The runs of RuoYi per mode, computed once per test process (each run takes a few hundred ms). */
const runs = new Map<ModeName, Promise<MockRun<StackOutputs>>>();

export async function ruoyiRun(mode: ModeName): Promise<MockRun<StackOutputs>> {
    if (!runs.has(mode)) {
        // Runs share the SDK's global mock state, so one finishes before the next starts.
        const previous = Promise.all([...runs.values()].map((run) => run.catch(() => undefined)));
        runs.set(mode, previous.then(() => runProgram(ruoyiConfig(mode))));
    }
    return runs.get(mode)!;
}

export async function ruoyiObjects(mode: ModeName): Promise<KubeObject[]> {
    return kubeObjects((await ruoyiRun(mode)).resources);
}
