import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { ConfigError } from "../components/resources/errors";
import { fieldsAt } from "../components/model";
import { PROJECT_ROOT, runWithMocks } from "../mocks/mockEngine";
import { readStackConfig } from "../engine/stackFile";
import { stackConfigSchema } from "../stacks/config";
import { pluggableMesh } from "../stacks/program";
import { apps, FAKE_TOKEN, RUOYI_SPEC, SpecFolder } from "./hostileCases";

/**
 * Property: any app spec or stack config, plausible or mutated, either renders or fails with our
 * ConfigError before the first resource is registered; never another error, never a stack frame,
 * never a planted secret in the message. Fixed seed (override with PROPERTY_SEED); fast-check
 * prints the seed and the shrunk counterexample when it fails.
 */

/** A planted signing key, in characters no hostile value above contains. */
const SECRET = "Zq9#".repeat(10);

const SEED = Number(process.env.PROPERTY_SEED ?? 20261203);
/** Runs per property; each is a whole program run under the mock engine. Raise with PROPERTY_RUNS for a longer search. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);

/** Values people and attackers put where a field goes (the token is not a secret there: a spec's values are shown, clipped). */
const HOSTILE_STRINGS = [
    "",
    " ",
    "__proto__",
    "constructor",
    "/",
    "..",
    "../../etc/passwd",
    "/proc/self/environ",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "a..b",
    "-x",
    "UPPER",
    "redis:7.4 ; curl x | sh",
    "{{ ruoyi-admin.http.uri }}",
    "{{ nope.url }}",
    "1.5 cores",
    "999999999999Ei",
    "1e400",
    "\u0000",
    "é",
    "x".repeat(300),
    FAKE_TOKEN,
    "istio",
    "kube-system",
    "http",
    "tcp",
    "1Gi",
    "500m",
];

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.constantFrom(0, -1, 65536, 2 ** 31, 2 ** 53, 1.5)) },
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.constantFrom(...HOSTILE_STRINGS), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("name", "port", "path", "host", "env", "__proto__", "x"), fc.constantFrom(...HOSTILE_STRINGS), { maxKeys: 2 }),
);

/** Every path into a value (objects and arrays), so a mutation can land anywhere a user could type. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (Array.isArray(value)) return [prefix, ...value.flatMap((item, index) => pathsOf(item, [...prefix, index]))];
    if (value !== null && typeof value === "object") return [prefix, ...Object.entries(value).flatMap(([key, inner]) => pathsOf(inner, [...prefix, key]))];
    return [prefix];
}

type Mutation = { path: (string | number)[]; value: unknown; remove: boolean };

function mutate(document: unknown, mutations: readonly Mutation[]): unknown {
    const copy = structuredClone(document);
    for (const { path: at, value, remove } of mutations) {
        if (at.length === 0) return remove ? null : value;
        let parent: any = copy;
        for (const segment of at.slice(0, -1)) parent = parent?.[segment];
        if (parent === null || typeof parent !== "object") continue;
        const last = at[at.length - 1]!;
        if (remove) delete parent[last];
        else Object.defineProperty(parent, last, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
    }
    return copy;
}

/** Runs the program; the property: it rendered, or it failed with our error before registering anything. */
async function rendersOrRefuses(config: Record<string, string>, secret?: string, program: () => unknown = () => pluggableMesh(PROJECT_ROOT)): Promise<void> {
    let thrown: unknown;
    const run = await runWithMocks(
        async () => {
            try {
                await program();
            } catch (error) {
                thrown = error;
            }
        },
        { stack: "property", config },
    );
    if (thrown === undefined) {
        assert.ok(run.resources.length > 0, "a program that did not fail registers its resources");
        return;
    }
    assert.ok(thrown instanceof ConfigError, `not our error: ${String(thrown)}`);
    assert.equal(run.resources.length, 0, "refused after registering resources");
    assert.doesNotMatch(thrown.message, /\n\s+at |node_modules/);
    if (secret !== undefined) assert.ok(!thrown.message.includes(secret), "the signing key was echoed");
}

describe("property: any app spec or stack config renders or is refused up front", function () {
    this.timeout(120_000);
    let files: SpecFolder;
    let counter = 0;
    before(() => {
        files = new SpecFolder("property-");
    });
    after(() => files.remove());

    const ruoyi = () => JSON.parse(JSON.stringify(require("yaml").parse(fs.readFileSync(path.join(PROJECT_ROOT, RUOYI_SPEC), "utf8"))));

    it(`app specs (seed ${SEED})`, async () => {
        const base = ruoyi();
        const mutation = fc.record({ path: fc.constantFrom(...pathsOf(base)), value: hostileValue, remove: fc.boolean() });
        await fc.assert(
            fc.asyncProperty(fc.array(mutation, { minLength: 0, maxLength: 3 }), fc.constantFrom("native", "envoy", "istio", "linkerd"), async (mutations, mode) => {
                const spec = files.write(`spec-${counter++}.yaml`, stringify(mutate(base, mutations)));
                await rendersOrRefuses({
                    ...apps({ spec, mode }),
                    "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install", gateway: { enabled: true } }),
                    "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing" }),
                });
            }),
            { seed: SEED, numRuns: RUNS },
        );
    });

    it(`stack configs (seed ${SEED})`, async () => {
        const stacks = ["dev", "staging", "prod"].map((stack) => readStackConfig(stack));
        const keys = [...Object.keys(stackConfigSchema.shape), "obervability", "pluggable-mesh.mode"];
        const nested = [...new Set(keys.flatMap((key) => fieldsAt(stackConfigSchema, [key]) ?? []))];
        const setting = fc.record({
            key: fc.constantFrom(...keys),
            value: fc.oneof(
                hostileValue.map((value) => (typeof value === "string" ? value : JSON.stringify(value))),
                fc.dictionary(fc.constantFrom(...nested), hostileValue, { maxKeys: 3 }).map((value) => JSON.stringify(value)),
            ),
        });
        await fc.assert(
            fc.asyncProperty(fc.constantFrom(...stacks), fc.array(setting, { maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 40 })), async (stack, settings, keyLength) => {
                const config = { ...stack };
                for (const { key, value } of settings) config[`pluggable-mesh:${key}`] = value;
                // A planted signing key of any length: it must never appear in a message.
                const secret = keyLength === null ? undefined : SECRET.slice(0, keyLength);
                if (secret !== undefined) config["pluggable-mesh:kialiSigningKey"] = secret;
                await rendersOrRefuses(config, secret !== undefined && secret.length >= 8 ? secret : undefined);
            }),
            { seed: SEED, numRuns: RUNS },
        );
    });

    it("would catch a program that registers before it refuses, or echoes the key (negative controls)", async () => {
        const plain = apps({ spec: RUOYI_SPEC });
        const config = { ...plain, "pluggable-mesh:kialiSigningKey": SECRET.slice(0, 17) };
        await assert.rejects(
            rendersOrRefuses(plain, undefined, async () => {
                await pluggableMesh(PROJECT_ROOT);
                throw new ConfigError([{ key: "late", message: "refused after registering" }]);
            }),
            /refused after registering resources/,
        );
        await assert.rejects(
            rendersOrRefuses(config, SECRET.slice(0, 17), () => {
                throw new ConfigError([{ key: "pluggable-mesh:kialiSigningKey", message: SECRET.slice(0, 17) }]);
            }),
            /the signing key was echoed/,
        );
        await assert.rejects(rendersOrRefuses(plain, undefined, () => JSON.parse("{")), /not our error/);
        await rendersOrRefuses(config, SECRET.slice(0, 17));
    });
});
