import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments } from "yaml";
import { runToolsScript } from "../tools/tools";
import { bookinfoConfig, kubeObjects, MODE_NAMES, runProgram, type KubeObject, type ModeName } from "./support/meshRuns";
import { validateEnvoyBootstrap } from "./support/envoyApi";
import { validateManifest } from "./support/schemas";

/**
 * Bookinfo as we render it in istio mode against Istio's own manifests, read at test time from the
 * pinned istio.io/istio module (tools/tools.sh `istio` copies its `samples/` unmodified into the
 * tools cache; nothing upstream is copied into this repository):
 * `samples/bookinfo/platform/kube/bookinfo.yaml` (Services, ServiceAccounts, Deployments),
 * `networking/destination-rule-all.yaml` (subsets) and `networking/virtual-service-reviews-80-20.yaml`
 * (the split stacks/apps/bookinfo.yaml declares).
 *
 * Every field compared either matches or differs in a way listed in EXPLAINED, with the reason;
 * a difference nobody explained fails, and so does an explanation nothing needs any more.
 * docs/bookinfo.md gives the same list to readers.
 */

const NAMESPACE = "bookinfo";
const DOMAIN = "cluster.local";

type Json = Record<string, any>;

function upstreamDir(): string {
    const { ISTIO_CHARTS } = runToolsScript(["istio"]);
    return path.join(ISTIO_CHARTS!, "..", "..", "samples", "bookinfo");
}

function readManifests(file: string): Json[] {
    return parseAllDocuments(fs.readFileSync(file, "utf8"))
        .map((document) => document.toJS() as Json | null)
        .filter((manifest): manifest is Json => manifest !== null && typeof manifest === "object");
}

/** One field of one object where upstream and we differ. */
interface Difference {
    object: string;
    field: string;
    upstream: unknown;
    ours: unknown;
}

/** A difference we accept, with why, and the exact shape it must have. */
interface Explained {
    kind: string;
    field: string;
    why: string;
    /** True when this is exactly the difference explained (the objects' names are given for per-object expectations). */
    holds(upstream: any, ours: any, name: string): boolean;
}

/** Deep equality regardless of key order, an empty list or object counting as absent (as Kubernetes treats them). */
const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(normalized(a), normalized(b));

function normalized(value: unknown): unknown {
    if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(normalized);
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value).filter(([, item]) => item !== undefined).map(([key, item]) => [key, normalized(item)] as const);
        return entries.length === 0 ? undefined : Object.fromEntries(entries.filter(([, item]) => item !== undefined));
    }
    return value;
}
const recommended = (name: string) => ({ "app.kubernetes.io/name": name, "app.kubernetes.io/instance": NAMESPACE });
/** The component an upstream object belongs to: `details` for details, bookinfo-details and details-v1. */
const componentOf = (name: string) => name.replace(/^bookinfo-/, "").replace(/-v\d+$/, "");
const versionOf = (deployment: string) => /-(v\d+)$/.exec(deployment)![1]!;
const OUR_LABELS = (name: string) => ({ ...recommended(name), "app.kubernetes.io/part-of": NAMESPACE, "app.kubernetes.io/managed-by": "pluggable-mesh" });
const fqdn = (host: string) => (host.includes(".") ? host : `${host}.${NAMESPACE}.svc.${DOMAIN}`);

const EXPLAINED: Explained[] = [
    {
        kind: "*",
        field: "metadata.namespace",
        why: "upstream applies into whatever namespace kubectl uses; our app spec names its namespace (bookinfo), created with the mode's injection label",
        holds: (upstream, ours) => upstream === undefined && ours === NAMESPACE,
    },
    {
        kind: "*",
        field: "metadata.labels",
        why: "upstream labels objects app/service/account/version; we put the Kubernetes recommended labels on every object (name, instance, part-of, managed-by; a version's Deployment adds its version)",
        holds: (_upstream, ours, name) =>
            same(ours, /-v\d+$/.test(name) ? { ...OUR_LABELS(componentOf(name)), "app.kubernetes.io/version": versionOf(name) } : OUR_LABELS(componentOf(name))),
    },
    {
        kind: "Service",
        field: "spec.selector",
        why: "we select by app.kubernetes.io/name and instance, labels every mode puts on the pods, so switching mode never changes a selector; Istio's app label is on the pods too in istio mode",
        holds: (upstream, ours, name) => same(upstream, { app: name }) && same(ours, recommended(name)),
    },
    {
        kind: "Service",
        field: "spec.ports",
        why: "same port and name; we target the container port by name (so each mode's pod resolves it) and add appProtocol http and protocol TCP",
        holds: (upstream, ours) =>
            same(upstream, [{ port: 9080, name: "http" }]) && same(ours, [{ name: "http", port: 9080, targetPort: "http", protocol: "TCP", appProtocol: "http" }]),
    },
    {
        kind: "Deployment",
        field: "spec.selector.matchLabels",
        why: "upstream selects app and version; we select our recommended labels plus app.kubernetes.io/version, present in every mode (Istio's version label exists only in istio mode)",
        holds: (upstream, ours, name) =>
            same(upstream, { app: componentOf(name), version: versionOf(name) }) && same(ours, { ...recommended(componentOf(name)), "app.kubernetes.io/version": versionOf(name) }),
    },
    {
        kind: "Deployment",
        field: "spec.template.metadata.annotations",
        why: "upstream has productpage's Prometheus scrape annotations for its own /metrics (our spec has no app metrics field); we annotate every pod with its mode so a mode switch rolls the pods",
        holds: (upstream, ours, name) =>
            same(ours, { "pluggable-mesh.io/mode": "istio" }) &&
            (name === "productpage-v1" ? same(upstream, { "prometheus.io/scrape": "true", "prometheus.io/port": "9080", "prometheus.io/path": "/metrics" }) : upstream === undefined),
    },
    {
        kind: "Deployment",
        field: "spec.template.spec.automountServiceAccountToken",
        why: "no Bookinfo service talks to the Kubernetes API, so we mount no token (Istio's sidecar gets its own projected token)",
        holds: (upstream, ours) => upstream === undefined && ours === false,
    },
    {
        kind: "Deployment",
        field: "spec.template.spec.securityContext",
        why: "we run the restricted Pod Security Standard by default; the upstream images run as non-root users (USER 1000/1001), so they need no exemption (upstream's bookinfo-psa.yaml does the same per container)",
        holds: (upstream, ours) => upstream === undefined && same(ours, { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }),
    },
    {
        kind: "Deployment",
        field: "spec.template.spec.volumes",
        why: "upstream mounts emptyDirs at /tmp (productpage, reviews) and /opt/ibm/wlp/output (reviews); our app spec has no emptyDir yet, and the root filesystem stays writable, so the images write there instead",
        holds: (upstream, ours, name) =>
            ours === undefined &&
            same(
                (upstream as { name: string; emptyDir: unknown }[]).map((volume) => [volume.name, volume.emptyDir]),
                name.startsWith("reviews") ? [["wlp-output", {}], ["tmp", {}]] : [["tmp", {}]],
            ),
    },
    {
        kind: "Deployment",
        field: "containers[0].volumeMounts",
        why: "the mounts of those emptyDirs (see spec.template.spec.volumes)",
        holds: (upstream, ours) => ours === undefined && Array.isArray(upstream) && upstream.every((mount: Json) => ["/tmp", "/opt/ibm/wlp/output"].includes(mount.mountPath)),
    },
    {
        kind: "Deployment",
        field: "containers[0].imagePullPolicy",
        why: "upstream says IfNotPresent; we leave it out, and Kubernetes defaults a tagged image (not :latest) to IfNotPresent, the same",
        holds: (upstream, ours) => upstream === "IfNotPresent" && ours === undefined,
    },
    {
        kind: "Deployment",
        field: "containers[0].ports",
        why: "same container port; we name it (the Service targets it by name) and give its protocol",
        holds: (upstream, ours) => same(upstream, [{ containerPort: 9080 }]) && same(ours, [{ name: "http", containerPort: 9080, protocol: "TCP" }]),
    },
    {
        kind: "Deployment",
        field: "containers[0].env",
        why: "upstream's callers fall back to the short names details, reviews, ratings and port 9080 built into the code; we set the variables the code reads (<NAME>_HOSTNAME, <NAME>_SERVICE_PORT) to the address each mode gives (the FQDN here, 127.0.0.1 and a local port in envoy mode)",
        holds: (upstream, ours, name) => {
            const expected: Record<string, [string, string][]> = {
                "productpage-v1": [
                    ["DETAILS_HOSTNAME", fqdn("details")],
                    ["DETAILS_SERVICE_PORT", "9080"],
                    ["REVIEWS_HOSTNAME", fqdn("reviews")],
                    ["REVIEWS_SERVICE_PORT", "9080"],
                ],
                reviews: [
                    ["LOG_DIR", "/tmp/logs"],
                    ["RATINGS_HOSTNAME", fqdn("ratings")],
                    ["RATINGS_SERVICE_PORT", "9080"],
                ],
            };
            const wanted = expected[name.startsWith("reviews") ? "reviews" : name];
            const upstreamEnv = ((upstream ?? []) as Json[]).map((variable) => [variable.name, variable.value]);
            const ourEnv = ((ours ?? []) as Json[]).map((variable) => [variable.name, variable.value]);
            // Upstream's own variables are all kept, with their values.
            return wanted !== undefined && same(ourEnv, wanted) && upstreamEnv.every((pair) => ourEnv.some((ourPair) => same(ourPair, pair)));
        },
    },
    {
        kind: "Deployment",
        field: "containers[0].securityContext",
        why: "the restricted profile's container half: no privilege escalation, every capability dropped (upstream's bookinfo-psa.yaml sets the same)",
        holds: (upstream, ours) => upstream === undefined && same(ours, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } }),
    },
    {
        kind: "Deployment",
        field: "containers[0].resources",
        why: "our policy pack requires CPU and memory requests and a memory limit on every container; upstream sets none",
        holds: (upstream, ours) => upstream === undefined && ours?.requests?.cpu !== undefined && ours?.requests?.memory !== undefined && ours?.limits?.memory !== undefined,
    },
    {
        kind: "Deployment",
        field: "containers[0].readinessProbe",
        why: "upstream has no probes; each Bookinfo service answers GET /health (productpage.py, details.rb, ratings.js, reviews' LibertyRestEndpoint), so we probe it",
        holds: (upstream, ours) => upstream === undefined && ours?.httpGet?.path === "/health" && ours?.httpGet?.port === 9080,
    },
    {
        kind: "DestinationRule",
        field: "spec.host",
        why: "we name hosts by FQDN; upstream's short name resolves to the same Service in its namespace",
        holds: (upstream, ours) => fqdn(upstream) === ours && upstream !== ours,
    },
    {
        kind: "DestinationRule",
        field: "spec.subsets",
        why: "we declare a subset for each version we deploy, selected by app.kubernetes.io/version (our Deployments' selector label; the pods carry Istio's version label with the same value, checked below); upstream also names details v2 and ratings v2, v2-mysql, v2-mysql-vm, whose Deployments live in other files (bookinfo-details-v2.yaml, bookinfo-ratings-v2*.yaml)",
        holds: (upstream, ours, name) => {
            const upstreamNames = (upstream as Json[]).map((subset) => subset.name);
            const ourSubsets = ours as Json[];
            const deployed = ourSubsets.map((subset) => subset.name);
            const extra: Record<string, string[]> = { details: ["v2"], ratings: ["v2", "v2-mysql", "v2-mysql-vm"] };
            return (
                ourSubsets.every((subset) => same(subset.labels, { "app.kubernetes.io/version": subset.name })) &&
                same(upstreamNames, [...deployed, ...(extra[name] ?? [])]) &&
                (upstream as Json[]).every((subset) => same(subset.labels, { version: subset.name }))
            );
        },
    },
    {
        kind: "DestinationRule",
        field: "spec.trafficPolicy",
        why: "our traffic policy: connection pool and outlier detection (circuit breaking) for every component; upstream sets none",
        holds: (upstream, ours) => upstream === undefined && ours?.connectionPool !== undefined && ours?.outlierDetection !== undefined,
    },
    {
        kind: "VirtualService",
        field: "spec.hosts",
        why: "FQDN instead of the short name (the same Service)",
        holds: (upstream, ours) => same((upstream as string[]).map(fqdn), ours) && !same(upstream, ours),
    },
    {
        kind: "VirtualService",
        field: "spec.http[0].route",
        why: "the same subsets and weights (v1 80, v2 20), with the FQDN as host",
        holds: (upstream, ours) =>
            same(
                (upstream as Json[]).map((entry) => ({ ...entry, destination: { ...entry.destination, host: fqdn(entry.destination.host) } })),
                ours,
            ) && !same(upstream, ours),
    },
    {
        kind: "VirtualService",
        field: "spec.http[0].timeout/retries",
        why: "our traffic policy for reviews (the app's 10s timeout and 2 retries); upstream's route has none",
        holds: (upstream, ours) => same(upstream, [undefined, undefined]) && ours[0] === "10s" && ours[1]?.attempts === 2,
    },
];

function get(object: Json, field: string): unknown {
    if (field.startsWith("containers[0].")) return get(object, `spec.template.spec.${field}`);
    return field.split(".").reduce<any>((value, key) => {
        if (value === undefined) return undefined;
        const indexed = /^(\w+)\[(\d+)\]$/.exec(key);
        return indexed ? value[indexed[1]!]?.[Number(indexed[2])] : value[key];
    }, object);
}

/** The fields compared per kind. */
const FIELDS: Record<string, string[]> = {
    Service: ["metadata.namespace", "metadata.labels", "spec.selector", "spec.ports"],
    ServiceAccount: ["metadata.namespace", "metadata.labels"],
    Deployment: [
        "metadata.namespace",
        "metadata.labels",
        "spec.replicas",
        "spec.selector.matchLabels",
        "spec.template.metadata.annotations",
        "spec.template.spec.serviceAccountName",
        "spec.template.spec.automountServiceAccountToken",
        "spec.template.spec.securityContext",
        "spec.template.spec.volumes",
        "containers[0].name",
        "containers[0].image",
        "containers[0].imagePullPolicy",
        "containers[0].ports",
        "containers[0].env",
        "containers[0].volumeMounts",
        "containers[0].securityContext",
        "containers[0].resources",
        "containers[0].readinessProbe",
    ],
    DestinationRule: ["spec.host", "spec.subsets", "spec.trafficPolicy"],
};

function explanationFor(kind: string, field: string): Explained | undefined {
    return EXPLAINED.find((entry) => entry.field === field && (entry.kind === kind || entry.kind === "*"));
}

describe("Bookinfo against Istio's upstream manifests (istio mode)", function () {
    let upstream: Json[];
    let upstreamRules: Json[];
    let upstreamRoute: Json;
    let ours: KubeObject[];

    before(async function () {
        const dir = upstreamDir();
        upstream = readManifests(path.join(dir, "platform", "kube", "bookinfo.yaml"));
        upstreamRules = readManifests(path.join(dir, "networking", "destination-rule-all.yaml"));
        upstreamRoute = readManifests(path.join(dir, "networking", "virtual-service-reviews-80-20.yaml"))[0]!;
        ours = kubeObjects((await runProgram(bookinfoConfig("istio"))).resources).filter((object) => object.manifest.metadata?.namespace === NAMESPACE);
    });

    const ourObject = (kind: string, name: string): Json | undefined => ours.find((object) => object.kind === kind && object.manifest.metadata.name === name)?.manifest;
    const namesOf = (objects: readonly Json[], kind: string) => objects.filter((object) => object.kind === kind).map((object) => object.metadata.name as string).sort();

    it("reads the upstream files (4 Services, 4 ServiceAccounts, 6 Deployments, 4 DestinationRules)", () => {
        assert.deepEqual(namesOf(upstream, "Service"), ["details", "productpage", "ratings", "reviews"]);
        assert.deepEqual(namesOf(upstream, "ServiceAccount"), ["bookinfo-details", "bookinfo-productpage", "bookinfo-ratings", "bookinfo-reviews"]);
        assert.deepEqual(namesOf(upstream, "Deployment"), ["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"]);
        assert.deepEqual(namesOf(upstreamRules, "DestinationRule"), ["details", "productpage", "ratings", "reviews"]);
    });

    it("has every upstream object under the same name: Services, ServiceAccounts, Deployments, DestinationRules", () => {
        const ourManifests = ours.map((object) => object.manifest);
        for (const kind of ["Service", "ServiceAccount", "Deployment"]) {
            const missing = namesOf(upstream, kind).filter((name) => !namesOf(ourManifests, kind).includes(name));
            assert.deepEqual(missing, [], kind);
        }
        assert.deepEqual(namesOf(ourManifests, "DestinationRule"), namesOf(upstreamRules, "DestinationRule"));
        // Ours has the headless Services besides (one per component, one per version of reviews): per-pod endpoints for envoy mode and the split's per-version backends.
        assert.deepEqual(
            namesOf(ourManifests, "Service").filter((name) => !namesOf(upstream, "Service").includes(name)),
            ["details-headless", "productpage-headless", "ratings-headless", "reviews-headless", "reviews-v1-headless", "reviews-v2-headless", "reviews-v3-headless"],
        );
    });

    it("every field compared matches upstream or differs exactly as EXPLAINED says, and every explanation is still needed", () => {
        const differences: Difference[] = [];
        const unexplained: string[] = [];
        const used = new Set<Explained>();
        const compare = (kind: string, name: string, upstreamObject: Json, ourObject: Json, fields: string[]) => {
            for (const field of fields) {
                const [theirs, mine] = [get(upstreamObject, field), get(ourObject, field)];
                if (same(theirs, mine)) continue;
                differences.push({ object: `${kind}/${name}`, field, upstream: theirs, ours: mine });
                const explained = explanationFor(kind, field);
                if (explained && explained.holds(theirs, mine, name)) used.add(explained);
                else unexplained.push(`${kind}/${name} ${field}: upstream ${JSON.stringify(theirs)}, ours ${JSON.stringify(mine)}`);
            }
        };
        for (const object of upstream) {
            const name = object.metadata.name as string;
            compare(object.kind, name, object, ourObject(object.kind, name) ?? {}, FIELDS[object.kind]!);
        }
        for (const rule of upstreamRules) compare("DestinationRule", rule.metadata.name, rule, ourObject("DestinationRule", rule.metadata.name) ?? {}, FIELDS.DestinationRule!);
        // The 80/20 route: upstream's only rule against ours; timeout and retries compared as one field.
        const ourRoute = ourObject("VirtualService", "reviews")!;
        compare("VirtualService", "reviews", upstreamRoute, ourRoute, ["spec.hosts", "spec.http[0].route"]);
        const extra = (route: Json) => [get(route, "spec.http[0].timeout"), get(route, "spec.http[0].retries")];
        if (!same(extra(upstreamRoute), extra(ourRoute))) {
            const explained = explanationFor("VirtualService", "spec.http[0].timeout/retries")!;
            if (explained.holds(extra(upstreamRoute), extra(ourRoute), "reviews")) used.add(explained);
            else unexplained.push(`VirtualService/reviews timeout/retries: ours ${JSON.stringify(extra(ourRoute))}`);
        }
        assert.deepEqual(unexplained, []);
        assert.deepEqual(
            EXPLAINED.filter((entry) => !used.has(entry)).map((entry) => `${entry.kind} ${entry.field}`),
            [],
            "explanations no difference needs any more",
        );
        // What matches: names, images, replicas, container names, service accounts.
        assert.ok(!differences.some((difference) => /^(spec\.replicas|containers\[0\]\.(name|image)|spec\.template\.spec\.serviceAccountName)$/.test(difference.field)), JSON.stringify(differences));
    });

    it("each upstream subset label would select exactly the pods our subset of that name selects (Istio's version label rides on every version's pods)", () => {
        for (const rule of upstreamRules) {
            const component = rule.metadata.name as string;
            const ourRule = ourObject("DestinationRule", component)!;
            const pods = ours
                .filter((object) => object.kind === "Deployment" && object.manifest.spec.template.metadata.labels.app === component)
                .map((object) => ({ name: object.manifest.metadata.name as string, labels: object.manifest.spec.template.metadata.labels as Record<string, string> }));
            const selects = (labels: Record<string, string>) => pods.filter((pod) => Object.entries(labels).every(([key, value]) => pod.labels[key] === value)).map((pod) => pod.name);
            for (const subset of ourRule.spec.subsets as Json[]) {
                const theirs = (rule.spec.subsets as Json[]).find((candidate) => candidate.name === subset.name)!;
                assert.deepEqual(selects(theirs.labels), selects(subset.labels), `${component}/${subset.name}`);
                assert.deepEqual(selects(subset.labels), [`${component}-${subset.name}`], `${component}/${subset.name} selects its own Deployment`);
            }
        }
    });

    it("negative control: a changed port, image or weight is an unexplained difference", () => {
        const reviews = structuredClone(ourObject("Deployment", "reviews-v2")!);
        reviews.spec.template.spec.containers[0].image = "registry.istio.io/release/examples-bookinfo-reviews-v3:1.20.3";
        const upstreamReviews = upstream.find((object) => object.kind === "Deployment" && object.metadata.name === "reviews-v2")!;
        assert.notEqual(get(upstreamReviews, "containers[0].image"), get(reviews, "containers[0].image"));
        assert.equal(explanationFor("Deployment", "containers[0].image"), undefined);
        const service = structuredClone(ourObject("Service", "details")!);
        service.spec.ports[0].port = 9081;
        assert.equal(explanationFor("Service", "spec.ports")!.holds(get(upstream.find((object) => object.kind === "Service" && object.metadata.name === "details")!, "spec.ports"), service.spec.ports, "details"), false);
        const route = structuredClone(ourObject("VirtualService", "reviews")!);
        route.spec.http[0].route[0].weight = 70;
        assert.equal(explanationFor("VirtualService", "spec.http[0].route")!.holds(upstreamRoute.spec.http[0].route, route.spec.http[0].route, "reviews"), false);
    });
});

describe("Bookinfo in every mode", function () {
    const runs = new Map<ModeName, KubeObject[]>();
    before(async function () {
        // One after another: runs share the SDK's global mock state.
        for (const mode of MODE_NAMES) runs.set(mode, kubeObjects((await runProgram(bookinfoConfig(mode))).resources).filter((object) => object.manifest.metadata?.namespace === NAMESPACE));
    });

    /** What no mode switch may change: the URN of every Namespace, ServiceAccount, Service and Deployment, the Services' specs and the Deployments' selectors. */
    function identity(objects: readonly KubeObject[]): Json[] {
        return objects
            .filter((object) => ["ServiceAccount", "Service", "Deployment"].includes(object.kind))
            .map((object) => ({ urn: object.resource.urn, name: object.manifest.metadata.name, spec: object.kind === "Deployment" ? { selector: object.manifest.spec.selector } : object.manifest.spec }))
            .sort((a, b) => a.urn.localeCompare(b.urn));
    }

    for (const mode of MODE_NAMES) {
        it(`${mode}: every object passes its upstream schema, every envoy bootstrap envoy's API`, async function () {
            const objects = runs.get(mode)!;
            const failures: string[] = [];
            for (const object of objects) await validateManifest(object.manifest as { apiVersion: string; kind: string }).catch((error: Error) => failures.push(error.message));
            // The split's Gateway API HTTPRoute is checked against the CRD Linkerd's chart ships (test/support/linkerdCrds.ts).
            assert.deepEqual(failures, []);
            const bootstraps = objects.filter((object) => object.kind === "ConfigMap" && typeof object.manifest.data?.["envoy.json"] === "string");
            assert.equal(bootstraps.length, mode === "envoy" ? 4 : 0);
            assert.deepEqual(bootstraps.flatMap((object) => validateEnvoyBootstrap(JSON.parse(object.manifest.data["envoy.json"] as string))), []);
        });

        it(`${mode}: the same Deployments, Services and ServiceAccounts as in native mode (a switch replaces none)`, function () {
            const native = identity(runs.get("native")!);
            assert.equal(native.length, 6 + 11 + 4, "6 Deployments, 11 Services, 4 ServiceAccounts");
            assert.deepEqual(identity(runs.get(mode)!), native);
        });
    }

    it("what each mode makes of the split: subsets and weights, weighted clusters, an HTTPRoute, or a warning", function () {
        const kinds = (mode: ModeName) => [...new Set(runs.get(mode)!.map((object) => object.kind))].sort();
        assert.ok(kinds("istio").includes("DestinationRule") && kinds("istio").includes("VirtualService"));
        assert.ok(kinds("linkerd").includes("HTTPRoute"));
        assert.ok(!kinds("native").includes("HTTPRoute") && !kinds("native").includes("VirtualService"));
        const productpage = runs.get("envoy")!.find((object) => object.kind === "ConfigMap" && object.manifest.metadata.name.startsWith("productpage-envoy-"))!;
        assert.match(productpage.manifest.data["envoy.json"] as string, /"weighted_clusters"/);
    });
});
