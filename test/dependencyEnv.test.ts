import assert from "node:assert/strict";
import { checkApps, type AppInput } from "../components/app/plan";
import { renderApp } from "../components/app/render";
import type { Platform } from "../components/modes/mode";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { MODE_NAMES, ruoyiConfig, type ModeName } from "./support/meshRuns";

/**
 * The app's own variable names win over the default dependency variables
 * (`<COMPONENT>[_<PORT>]_{HOST,PORT,ADDR,URL}`): a mapped name is never refused because a default
 * has it, defaults that collide are dropped with a warning naming both sides, and defaults can be
 * switched off per app and per component. Two names the user maps alike stay an error.
 */

const PLATFORM: Platform = loadStack(ruoyiConfig("native"), { projectRoot: PROJECT_ROOT }).platform;
const SOURCE = "shop.yaml";

const redis = { name: "redis", image: "docker.io/library/redis:7.4.2", ports: [{ name: "redis", port: 6379, protocol: "tcp" }] };
const cache = { name: "cache", image: "docker.io/library/redis:7.4.2", ports: [{ name: "redis", port: 6380, protocol: "tcp" }] };

function shop(web: Record<string, unknown>, others: Record<string, unknown>[] = [redis], app: Record<string, unknown> = {}): AppInput {
    return { spec: { name: "shop", ...app, components: [{ name: "web", image: "ghcr.io/acme/web:1.0.0", ...web }, ...others] }, source: SOURCE };
}

function plan(input: AppInput, mode: ModeName = "native") {
    return checkApps([{ ...input, mode }], { platform: PLATFORM });
}

/** The web container's variables and the app's warnings, rendered in a mode; fails on any problem. */
function webEnv(input: AppInput, mode: ModeName, peers: AppInput[] = []): { env: Record<string, string>; names: string[]; warnings: string[] } {
    const { apps, problems } = checkApps([{ ...input, mode }, ...peers], { platform: PLATFORM });
    assert.deepEqual(problems, []);
    const rendered = renderApp(apps[0]!, PLATFORM);
    const web = rendered.objects.find((object) => object.manifest.kind === "Deployment" && object.manifest.metadata.name === "web")!.manifest as any;
    const entries = web.spec.template.spec.containers[0].env as { name: string; value: string }[];
    // Only the model's own warnings (a mode adds its own, e.g. linkerd about authorization).
    const warnings = rendered.warnings.filter((warning) => warning.startsWith(`${SOURCE}:`));
    return { env: Object.fromEntries(entries.map((entry) => [entry.name, entry.value])), names: entries.map((entry) => entry.name), warnings };
}

/** How each mode makes `web` reach a component of the shop app (port as the app dials it). */
function reach(env: Record<string, string>, component: string): string {
    return env[`${component.toUpperCase()}_ADDR`] ?? env[`${component.toUpperCase()}_REDIS_ADDR`]!;
}

describe("dependency variables: the app's own names win", () => {
    for (const mode of MODE_NAMES) {
        describe(mode, () => {
            it("maps REDIS_ADDR to redis's address without a conflict or a warning, and sets it once", () => {
                const { env, names, warnings } = webEnv(shop({ dependsOn: [{ target: "redis", env: { REDIS_ADDR: "address" } }] }), mode);
                assert.deepEqual(warnings, []);
                assert.deepEqual(names.filter((name) => name === "REDIS_ADDR"), ["REDIS_ADDR"]);
                assert.deepEqual(names, ["REDIS_REDIS_HOST", "REDIS_REDIS_PORT", "REDIS_REDIS_ADDR", "REDIS_REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_URL", "REDIS_ADDR"]);
                assert.equal(env.REDIS_ADDR, env.REDIS_REDIS_ADDR);
            });

            it("keeps a plain env value over the default of the same name, with a warning naming both", () => {
                const { env, warnings } = webEnv(shop({ env: { REDIS_HOST: "redis.example.internal" }, dependsOn: ["redis"] }), mode);
                assert.equal(env.REDIS_HOST, "redis.example.internal");
                assert.deepEqual(warnings, [`${SOURCE}: components[0].dependsOn[0]: default variable REDIS_HOST (the host of "redis") is not set; env sets REDIS_HOST`]);
            });

            it("gives a name mapped to another dependency that dependency's address, dropping the default with a warning", () => {
                const { env, names, warnings } = webEnv(shop({ dependsOn: ["redis", { target: "cache", env: { REDIS_ADDR: "address" } }] }, [redis, cache]), mode);
                assert.equal(env.REDIS_ADDR, reach(env, "cache"));
                assert.notEqual(env.REDIS_ADDR, env.REDIS_REDIS_ADDR);
                assert.equal(names.filter((name) => name === "REDIS_ADDR").length, 1);
                assert.deepEqual(warnings, [`${SOURCE}: components[0].dependsOn[0]: default variable REDIS_ADDR (the address of "redis") is not set; dependsOn[1] ("cache") sets REDIS_ADDR`]);
            });

            it("drops defaults that two dependencies would both set, keeps the rest, and says which", () => {
                // Another app's redis offers the very same defaults as this app's, so neither gets them; cache's are kept.
                const other: AppInput = { spec: { name: "stock", components: [redis] }, source: "stock.yaml" };
                const { names, warnings } = webEnv(shop({ dependsOn: ["redis", "stock/redis", "cache"] }, [redis, cache]), mode, [other]);
                assert.deepEqual(names, ["CACHE_REDIS_HOST", "CACHE_REDIS_PORT", "CACHE_REDIS_ADDR", "CACHE_REDIS_URL", "CACHE_HOST", "CACHE_PORT", "CACHE_ADDR", "CACHE_URL"]);
                const formats = [["HOST", "host"], ["PORT", "port"], ["ADDR", "address"], ["URL", "url"]];
                assert.deepEqual(
                    warnings,
                    ["REDIS_REDIS", "REDIS"].flatMap((prefix) =>
                        formats.map(
                            ([suffix, format]) =>
                                `${SOURCE}: components[0].dependsOn[1]: default variable ${prefix}_${suffix} is not set: it would be the ${format} of "redis" (dependsOn[0]) and the ${format} of "stock/redis"; map the one the app reads in that dependency's env`,
                        ),
                    ),
                );
            });

            it("sets only mapped names when the app switches defaults off, and a component can switch them back on", () => {
                const off = webEnv(shop({ dependsOn: [{ target: "redis", env: { CACHE: "url" } }] }, [redis], { dependencyEnvDefaults: false }), mode);
                assert.deepEqual(off.names, ["CACHE"]);
                assert.deepEqual(off.warnings, []);
                const on = webEnv(shop({ dependencyEnvDefaults: true, dependsOn: ["redis"] }, [redis], { dependencyEnvDefaults: false }), mode);
                assert.deepEqual(on.names, ["REDIS_REDIS_HOST", "REDIS_REDIS_PORT", "REDIS_REDIS_ADDR", "REDIS_REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_ADDR", "REDIS_URL"]);
                const componentOff = webEnv(shop({ dependencyEnvDefaults: false, dependsOn: ["redis"] }), mode);
                assert.deepEqual(componentOff.names, []);
            });
        });
    }

    it("refuses two names the user maps alike, naming both", () => {
        const { problems } = plan(shop({ env: { CACHE: "x" }, dependsOn: [{ target: "redis", env: { CACHE: "url", STORE: "host" } }, { target: "cache", env: { STORE: "host" } }] }, [redis, cache]));
        assert.deepEqual(problems, [
            { key: `${SOURCE}: components[0].dependsOn[0].env.CACHE`, message: "variable CACHE is already set by env; rename one of them" },
            { key: `${SOURCE}: components[0].dependsOn[1].env.STORE`, message: `variable STORE is already set by dependsOn[0] ("redis"); rename one of them` },
        ]);
    });

    it("refuses a component that is not a boolean switch", () => {
        const { problems } = plan(shop({ dependencyEnvDefaults: "no" }));
        assert.deepEqual(problems, [{ key: `${SOURCE}: components[0].dependencyEnvDefaults`, message: `expected boolean, given "no"` }]);
    });
});
