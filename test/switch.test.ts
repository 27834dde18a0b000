import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { renderApp } from "../components/app";
import { registerManifest } from "../components/resources";
import { PROJECT_ROOT, runWithMocks } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { kubeObjects, MODE_NAMES, ruoyiConfig, ruoyiObjects, type KubeObject, type ModeName } from "./support/meshRuns";

/**
 * Switching mode is an in-place rolling update (DESIGN §4, §7): for every ordered pair of modes,
 * nothing the Kubernetes provider replaces on change differs between the two renderings of RuoYi
 * (same stack, Istio and Linkerd available), and the pod templates do differ, so the pods roll.
 *
 * Replacement triggers, per pulumi-kubernetes `provider/pkg/provider/diff.go`: any
 * `metadata.name`/`namespace`; Deployment `spec.selector`; StatefulSet `spec.selector`,
 * `serviceName`, `volumeClaimTemplates`; Service `spec.clusterIP` (and its type). The whole
 * Service spec is compared, which is stricter.
 *
 * Objects are matched by the URN the engine would give them (the mock engine forms it with the
 * whole parent chain), so a change of parent, which Pulumi treats as a different resource
 * (a replacement, or a delete without an alias), fails the comparison; a negative control below
 * proves it does.
 */

/** Kinds whose replacement would be an outage or lose data; they must keep URN and identity. */
const STABLE_KINDS = ["Namespace", "ServiceAccount", "Service", "Deployment", "StatefulSet"];

function byUrn(objects: readonly KubeObject[], kinds: readonly string[]): Map<string, Record<string, any>> {
    return new Map(objects.filter((object) => kinds.includes(object.kind)).map((object) => [object.resource.urn, object.manifest]));
}

/** Stable-kind URNs present in one run and not in the other. */
function urnChanges(from: readonly KubeObject[], to: readonly KubeObject[]): { gone: string[]; added: string[] } {
    const before = [...byUrn(from, STABLE_KINDS).keys()];
    const after = [...byUrn(to, STABLE_KINDS).keys()];
    return { gone: before.filter((urn) => !after.includes(urn)).sort(), added: after.filter((urn) => !before.includes(urn)).sort() };
}

function identity(manifest: Record<string, any>): { name: string; namespace: string | undefined } {
    return { name: manifest.metadata.name, namespace: manifest.metadata.namespace };
}

const PAIRS: [ModeName, ModeName][] = MODE_NAMES.flatMap((from) => MODE_NAMES.filter((to) => to !== from).map((to) => [from, to] as [ModeName, ModeName]));

describe("switching RuoYi between modes", () => {
    const runs = new Map<ModeName, KubeObject[]>();
    before(async () => {
        for (const mode of MODE_NAMES) runs.set(mode, await ruoyiObjects(mode));
    });

    for (const [from, to] of PAIRS) {
        describe(`${from} → ${to}`, () => {
            let fromRun: KubeObject[];
            let toRun: KubeObject[];
            beforeEach(() => {
                fromRun = runs.get(from)!;
                toRun = runs.get(to)!;
            });

            it("keeps the same URNs for namespaces, service accounts, Services, Deployments and StatefulSets", () => {
                assert.deepEqual(urnChanges(fromRun, toRun), { gone: [], added: [] });
                for (const kind of STABLE_KINDS) {
                    const urns = (objects: KubeObject[]) => [...byUrn(objects, [kind]).keys()].sort();
                    assert.ok(urns(fromRun).length > 0, `some ${kind}`);
                    assert.deepEqual(urns(toRun), urns(fromRun), kind);
                }
                assert.equal(byUrn(fromRun, ["Deployment"]).size, 3);
                assert.equal(byUrn(fromRun, ["StatefulSet"]).size, 1);
                assert.equal(byUrn(fromRun, ["Service"]).size, 8);
            });

            it("keeps metadata.name and namespace of every object of those kinds", () => {
                const old = byUrn(fromRun, STABLE_KINDS);
                for (const [urn, manifest] of byUrn(toRun, STABLE_KINDS)) {
                    assert.deepEqual(identity(manifest), identity(old.get(urn)!), urn);
                }
            });

            it("keeps Deployment and StatefulSet selectors, StatefulSet serviceName and volumeClaimTemplates", () => {
                const old = byUrn(fromRun, ["Deployment", "StatefulSet"]);
                for (const [urn, manifest] of byUrn(toRun, ["Deployment", "StatefulSet"])) {
                    const previous = old.get(urn)!;
                    assert.deepEqual(manifest.spec.selector, previous.spec.selector, `${urn} selector`);
                    assert.deepEqual(manifest.spec.serviceName, previous.spec.serviceName, `${urn} serviceName`);
                    assert.deepEqual(manifest.spec.volumeClaimTemplates, previous.spec.volumeClaimTemplates, `${urn} volumeClaimTemplates`);
                }
                const mysql = [...byUrn(toRun, ["StatefulSet"]).values()][0]!;
                assert.equal(mysql.spec.serviceName, "mysql-headless");
                assert.deepEqual(mysql.spec.volumeClaimTemplates, [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } } }]);
            });

            it("keeps every Service spec: type or clusterIP, selector and ports", () => {
                const old = byUrn(fromRun, ["Service"]);
                for (const [urn, manifest] of byUrn(toRun, ["Service"])) {
                    assert.deepEqual(manifest.spec, old.get(urn)!.spec, urn);
                }
            });

            it("changes the pod template of every workload, at least by the mode annotation", () => {
                const old = byUrn(fromRun, ["Deployment", "StatefulSet"]);
                for (const [urn, manifest] of byUrn(toRun, ["Deployment", "StatefulSet"])) {
                    const previous = old.get(urn)!;
                    assert.notDeepEqual(manifest.spec.template, previous.spec.template, urn);
                    assert.equal(previous.spec.template.metadata.annotations["pluggable-mesh.io/mode"], from);
                    assert.equal(manifest.spec.template.metadata.annotations["pluggable-mesh.io/mode"], to);
                    // Mode labels go on the pod template only: the selector still matches the new pods.
                    for (const [label, value] of Object.entries(manifest.spec.selector.matchLabels as Record<string, string>)) {
                        assert.equal(manifest.spec.template.metadata.labels[label], value, `${urn} template label ${label}`);
                    }
                }
            });

            it("replaces only content-named ConfigMaps (new name, created before the old one is deleted)", () => {
                // An immutable ConfigMap named by its content hash is the idiom for config that rolls the pods.
                const old = byUrn(fromRun, ["ConfigMap"]);
                let kept = 0;
                for (const [urn, manifest] of byUrn(toRun, ["ConfigMap"])) {
                    const previous = old.get(urn);
                    if (previous === undefined) continue;
                    kept++;
                    assert.equal(manifest.immutable, true, urn);
                    if (manifest.metadata.name !== previous.metadata.name) {
                        assert.notDeepEqual(manifest.data, previous.data, `${urn} renamed without a content change`);
                    }
                }
                // RuoYi's UI config files are a ConfigMap in every mode: the loop above compared something.
                assert.ok(kept > 0, "no ConfigMap kept its URN");
            });
        });
    }
});

describe("the switch comparison itself (negative control)", () => {
    let native: KubeObject[];
    let regrouped: KubeObject[];
    before(async () => {
        native = await ruoyiObjects("native");
        // The very same objects, parented to a component of another type with the app's name: what
        // a refactor that moves them under a new component does. Every name and namespace stays.
        const config = ruoyiConfig("native");
        const { apps, platform } = loadStack(config, { projectRoot: PROJECT_ROOT });
        const run = await runWithMocks(
            () => {
                for (const app of apps) {
                    const parent = new pulumi.ComponentResource("pluggable-mesh:app:Regrouped", app.name, {});
                    for (const object of renderApp(app, platform).objects) registerManifest(object.name, object.manifest, { parent });
                }
            },
            { stack: "test", config },
        );
        regrouped = kubeObjects(run.resources);
    });

    /** RuoYi's own objects (the full program also installs Istio, whose namespace is not the app's). */
    const ruoyiOnly = (objects: KubeObject[]) => objects.filter((object) => object.resource.parent.endsWith("::ruoyi"));

    it("sees the same names and namespaces, so a comparison by Kubernetes identity alone would pass", () => {
        const identities = (objects: KubeObject[]) => objects.filter((object) => STABLE_KINDS.includes(object.kind)).map((object) => `${object.kind} ${JSON.stringify(identity(object.manifest))}`).sort();
        assert.equal(identities(regrouped).length, 17);
        assert.deepEqual(identities(regrouped), identities(ruoyiOnly(native)));
    });

    it("reports every object of the stable kinds as gone and added when only the parent changed", () => {
        const changes = urnChanges(ruoyiOnly(native), regrouped);
        const stable = [...byUrn(ruoyiOnly(native), STABLE_KINDS).keys()].sort();
        assert.equal(stable.length, 17);
        assert.ok(stable.every((urn) => urn.includes("::pluggable-mesh:app:GovernedApp$kubernetes:")), stable.join("\n"));
        assert.deepEqual(changes.gone, stable);
        assert.deepEqual(changes.added, stable.map((urn) => urn.replace("::pluggable-mesh:app:GovernedApp$", "::pluggable-mesh:app:Regrouped$")).sort());
    });
});
