import assert from "node:assert/strict";
import { checkApps, renderApp, type AppInput } from "../components/app";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { relatedAppIndexes } from "../stacks/peers";
import { MODE_NAMES, ruoyiConfig, type ModeName } from "./support/meshRuns";

/**
 * The program hands each GovernedApp only the apps it calls, is called by or shares its namespace
 * with (stacks/peers.ts), so that a stack of many apps costs linear time. Claim checked here: an
 * app renders exactly the same objects and warnings with those peers as with every other app of
 * the stack, in every mode and in a stack that mixes modes; and (negative controls) leaving out a
 * caller or a namespace neighbour does change what it renders.
 */

const PLATFORM = loadStack(ruoyiConfig("native"), { projectRoot: PROJECT_ROOT }).platform;
const image = "ghcr.io/acme/app:1.0.0";
const http = [{ name: "http", port: 8080, protocol: "http" }];

/** shop calls catalog; billing shares catalog's namespace (and runs as root, so it lowers its Pod Security); lonely knows nobody. */
const SPECS = [
    { name: "shop", components: [{ name: "web", image, ports: http, dependsOn: ["catalog/api", "cart"] }, { name: "cart", image, ports: http }] },
    { name: "catalog", components: [{ name: "api", image, ports: http }] },
    {
        name: "billing",
        namespace: "catalog",
        createNamespace: false,
        components: [{ name: "ledger", image, ports: http, securityContext: { runAsUser: 0 }, securityExemption: "the upstream image starts as root" }],
    },
    { name: "lonely", components: [{ name: "solo", image, ports: http }] },
];

function inputs(modes: readonly ModeName[]): AppInput[] {
    return SPECS.map((spec, index) => ({ spec, mode: modes[index]!, source: `${spec.name}.yaml` }));
}

/** What GovernedApp renders for app `index` given these peers (it plans itself first, then its peers). */
function rendered(all: readonly AppInput[], index: number, peers: readonly number[]) {
    const { apps, problems } = checkApps([all[index]!, ...peers.map((peer) => all[peer]!)], { platform: PLATFORM });
    assert.deepEqual(problems, []);
    return renderApp(apps[0]!, PLATFORM);
}

function everyOther(count: number, index: number): number[] {
    return Array.from({ length: count }, (_, other) => other).filter((other) => other !== index);
}

const MODE_SETS: ModeName[][] = [...MODE_NAMES.map((mode) => SPECS.map(() => mode)), ["istio", "envoy", "linkerd", "native"], ["native", "linkerd", "istio", "envoy"]];

describe("each app's peers in the program: only the related apps", () => {
    it("relates apps by calls in either direction and by a shared namespace", () => {
        const { apps } = checkApps(inputs(SPECS.map(() => "native")), { platform: PLATFORM });
        assert.deepEqual(
            SPECS.map((_, index) => relatedAppIndexes(apps, index)),
            [[1], [0, 2], [1], []],
        );
    });

    for (const modes of MODE_SETS) {
        it(`renders the same objects and warnings as with every app as a peer (${modes.join(", ")})`, () => {
            const all = inputs(modes);
            const { apps, problems } = checkApps(all, { platform: PLATFORM });
            assert.deepEqual(problems, []);
            SPECS.forEach((spec, index) => {
                assert.deepEqual(rendered(all, index, relatedAppIndexes(apps, index)), rendered(all, index, everyOther(SPECS.length, index)), `app ${spec.name}`);
            });
        });
    }

    it("would render differently without the caller or the namespace neighbour (negative controls)", () => {
        const objects = (mode: ModeName, index: number, peers: number[]) => JSON.stringify(rendered(inputs(SPECS.map(() => mode)), index, peers).objects);
        // catalog without shop: nobody is authorized to call api.
        assert.notEqual(objects("istio", 1, [2]), objects("istio", 1, [0, 2]));
        // catalog without billing: its namespace's Pod Security would be restricted although billing runs as root there.
        assert.notEqual(objects("native", 1, [0]), objects("native", 1, [0, 2]));
    });
});
