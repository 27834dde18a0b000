import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../mocks/mockEngine";

/**
 * The package as another project gets it: `npm run build` and `npm pack`, then a scratch project
 * installs the tarball (from npm's cache, no download), type-checks examples/shop against the
 * installed declarations and runs it under Pulumi's mocks with the scratch project's own SDK.
 */
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const TSC = path.join(PROJECT_ROOT, "node_modules", "typescript", "bin", "tsc");

function run(command: string, args: string[], cwd: string): string {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } });
}

/** Runs the compiled example under mocks and prints what it registered, as JSON. */
const RUNNER = `
const pulumi = require("@pulumi/pulumi");
const registered = [];
pulumi.runtime.setMocks({
    newResource(args) { registered.push({ type: args.type, name: args.name }); return { id: args.name + "-id", state: args.inputs }; },
    call(args) { throw new Error("unexpected call " + args.token); },
}, "shop", "example", false);
const store = require("@pulumi/pulumi/runtime/state").getStore();
store.supportsTransforms = true;
store.callbacks = { registerTransform: async () => new (require("@pulumi/pulumi/proto/callback_pb").Callback)(), awaitStackRegistrations: async () => undefined };
require("./out/index.js");
require("@pulumi/pulumi/runtime/settings").waitForRPCs().then(() => console.log(JSON.stringify(registered)));
`;

describe("the packed package in another project", function () {
    this.timeout(300_000);
    let scratch: string;
    let tarball: string;

    before(function () {
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pm-package-"));
        run(NPM, ["run", "--silent", "build"], PROJECT_ROOT);
        const packed = JSON.parse(run(NPM, ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], PROJECT_ROOT)) as { filename: string; files: { path: string }[] }[];
        tarball = path.join(scratch, packed[0]!.filename);
        const files = packed[0]!.files.map((file) => file.path);
        // Only the library ships (and the policy pack's contract, the annotation names it emits): no
        // stack program, tests, tools or stack files.
        assert.ok(files.includes("dist/components/index.js") && files.includes("dist/components/index.d.ts"), files.join(", "));
        assert.deepEqual(files.filter((file) => !file.startsWith("dist/components/") && !file.startsWith("dist/policy/contract.") && !["package.json", "README.md"].includes(file)), []);
    });

    after(function () {
        fs.rmSync(scratch, { recursive: true, force: true });
    });

    it("installs, type-checks the example against its declarations and renders it under mocks", function () {
        const project = path.join(scratch, "consumer");
        fs.mkdirSync(project);
        const root = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
        fs.writeFileSync(
            path.join(project, "package.json"),
            JSON.stringify({ name: "consumer", private: true, dependencies: { "pluggable-mesh": `file:${tarball}`, "@pulumi/pulumi": root.dependencies["@pulumi/pulumi"], "@types/node": root.devDependencies["@types/node"] } }),
        );
        fs.writeFileSync(
            path.join(project, "tsconfig.json"),
            JSON.stringify({ compilerOptions: { target: "ES2022", module: "nodenext", moduleResolution: "nodenext", strict: true, outDir: "out", types: ["node"], skipLibCheck: true }, files: ["index.ts"] }),
        );
        fs.copyFileSync(path.join(PROJECT_ROOT, "examples", "shop", "index.ts"), path.join(project, "index.ts"));
        run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], project);

        run(process.execPath, [TSC, "-p", "."], project);
        fs.writeFileSync(path.join(project, "run.js"), RUNNER);
        const registered = JSON.parse(run(process.execPath, ["run.js"], project)) as { type: string; name: string }[];
        const types = new Set(registered.map((resource) => `${resource.type}/${resource.name}`));
        for (const expected of ["pluggable-mesh:istio:IstioControlPlane/istio", "pluggable-mesh:app:GovernedApp/shop", "kubernetes:apps/v1:Deployment/shop-web", "kubernetes:apps/v1:StatefulSet/catalog-catalog-db"]) {
            assert.ok(types.has(expected), `${expected} not registered; got ${[...types].join(", ")}`);
        }
    });

    it("refuses a program that passes a mode that does not exist (the types are real, negative control)", function () {
        const project = path.join(scratch, "consumer");
        fs.writeFileSync(path.join(project, "index.ts"), fs.readFileSync(path.join(project, "index.ts"), "utf8").replace('mode: "envoy"', 'mode: "consul"'));
        assert.throws(() => run(process.execPath, [TSC, "-p", "."], project), (error: { stdout?: string }) => /Type '"consul"' is not assignable/.test(error.stdout ?? ""));
    });
});
