import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { engineEnvironment, skipsCheckpoints, type Target, type Tools } from "../engine/engine";
import { lockDir, releaseStaleLocks } from "../engine/locks";

/**
 * The embedded default's checkpoint policy (docs/engine.md, "Checkpoints"): intermediate
 * checkpoints are skipped only where the state is disposable (the embedded file backend with
 * render mode or the embedded cluster), never with a backend or a cluster of the user's, and a
 * PULUMI_SKIP_CHECKPOINTS the user sets wins.
 */

const TOOLS: Tools = { pulumiBin: "/tools/bin/pulumi", providerBin: "/tools/bin/pulumi-resource-kubernetes", istioCharts: "/tools/istio", binDir: "/tools/bin" };
const RENDER: Target = { kind: "render", dir: "/project/out/dev/rendered" };
const EMBEDDED: Target = { kind: "embedded", clusterDir: "/project/.cluster", kubeconfig: "/project/.cluster/kubeconfig" };
const CLUSTER: Target = { kind: "cluster" };
const SETTINGS = ["HOME", "PULUMI_BACKEND_URL", "PULUMI_SKIP_CHECKPOINTS"] as const;

describe("the checkpoint policy of the embedded default (engine/engine.ts)", function () {
    let home: string;
    let stateDir: string;
    const saved: Partial<Record<(typeof SETTINGS)[number], string>> = {};
    beforeEach(function () {
        for (const name of SETTINGS) saved[name] = process.env[name];
        home = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-checkpoints-"));
        stateDir = path.join(home, "state");
        // os.homedir() reads HOME: no ~/.pulumi/credentials.json, so no `pulumi login`.
        process.env.HOME = home;
        delete process.env.PULUMI_BACKEND_URL;
        delete process.env.PULUMI_SKIP_CHECKPOINTS;
    });
    afterEach(function () {
        for (const name of SETTINGS) {
            if (saved[name] === undefined) delete process.env[name];
            else process.env[name] = saved[name];
        }
        fs.rmSync(home, { recursive: true, force: true });
    });

    function login(current: string): void {
        fs.mkdirSync(path.join(home, ".pulumi"), { recursive: true });
        fs.writeFileSync(path.join(home, ".pulumi", "credentials.json"), JSON.stringify({ current }));
    }

    it("decides from the backend and the target alone", function () {
        assert.deepEqual(
            [RENDER, EMBEDDED, CLUSTER, undefined].map((target) => [skipsCheckpoints(true, target), skipsCheckpoints(false, target)]),
            [[true, false], [true, false], [false, false], [false, false]],
        );
    });

    it("skips them with the embedded file backend in render mode and on the embedded cluster", function () {
        for (const target of [RENDER, EMBEDDED]) {
            const env = engineEnvironment(TOOLS, stateDir, target);
            assert.equal(env.PULUMI_BACKEND_URL, `file://${stateDir}`);
            assert.equal(env.PULUMI_SKIP_CHECKPOINTS, "true", target.kind);
        }
    });

    it("keeps them for a cluster of the user's, and when the target is not known", function () {
        assert.equal(engineEnvironment(TOOLS, stateDir, CLUSTER).PULUMI_SKIP_CHECKPOINTS, undefined);
        assert.equal(engineEnvironment(TOOLS, stateDir).PULUMI_SKIP_CHECKPOINTS, undefined);
    });

    it("keeps them with the user's own backend (PULUMI_BACKEND_URL), even in render mode", function () {
        process.env.PULUMI_BACKEND_URL = "s3://team-state";
        const env = engineEnvironment(TOOLS, stateDir, RENDER);
        assert.equal(env.PULUMI_BACKEND_URL, undefined, "the user's backend is inherited, not replaced");
        assert.equal(env.PULUMI_SKIP_CHECKPOINTS, undefined);
    });

    it("keeps them after `pulumi login`, even on the embedded cluster", function () {
        login("https://api.pulumi.com");
        const env = engineEnvironment(TOOLS, stateDir, EMBEDDED);
        assert.equal(env.PULUMI_BACKEND_URL, undefined);
        assert.equal(env.PULUMI_SKIP_CHECKPOINTS, undefined);
    });

    it("an empty login record is no login (negative control of the test above)", function () {
        login("");
        assert.equal(engineEnvironment(TOOLS, stateDir, EMBEDDED).PULUMI_SKIP_CHECKPOINTS, "true");
    });

    it("leaves the user's own PULUMI_SKIP_CHECKPOINTS alone, whichever way it is set", function () {
        process.env.PULUMI_SKIP_CHECKPOINTS = "false";
        assert.equal(engineEnvironment(TOOLS, stateDir, RENDER).PULUMI_SKIP_CHECKPOINTS, undefined, "the engine inherits the user's false");
        process.env.PULUMI_SKIP_CHECKPOINTS = "true";
        assert.equal(engineEnvironment(TOOLS, stateDir, CLUSTER).PULUMI_SKIP_CHECKPOINTS, undefined, "the engine inherits the user's true");
    });
});

describe("locks a killed engine left in the embedded file backend (engine/locks.ts)", function () {
    let stateDir: string;
    beforeEach(function () {
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-locks-"));
    });
    afterEach(function () {
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    /** A pid no process has: above Linux's largest pid_max (2^22). */
    const GONE = 4_194_305;
    function lock(name: string, content: unknown): string {
        const dir = lockDir(stateDir, "pluggable-mesh", "dev");
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
        return path.join(dir, name);
    }

    it("sits where the engine puts it", function () {
        assert.equal(lockDir("/state", "pluggable-mesh", "dev"), "/state/.pulumi/locks/organization/pluggable-mesh/dev");
    });

    it("deletes a lock of this machine whose engine no longer runs, and says which", function () {
        const stale = lock("a.json", { pid: GONE, username: "u", hostname: os.hostname(), timestamp: "2026-12-03T16:21:35Z" });
        assert.deepEqual(releaseStaleLocks(stateDir, "pluggable-mesh", "dev"), [{ pid: GONE, username: "u", hostname: os.hostname(), timestamp: "2026-12-03T16:21:35Z" }]);
        assert.equal(fs.existsSync(stale), false);
    });

    it("keeps a lock whose engine runs, one from another machine and one it cannot read", function () {
        const kept = [
            lock("running.json", { pid: process.pid, username: "u", hostname: os.hostname(), timestamp: "t" }),
            lock("elsewhere.json", { pid: GONE, username: "u", hostname: `not-${os.hostname()}`, timestamp: "t" }),
            lock("broken.json", "{ not json"),
            lock("nopid.json", { hostname: os.hostname() }),
        ];
        assert.deepEqual(releaseStaleLocks(stateDir, "pluggable-mesh", "dev"), []);
        assert.deepEqual(kept.map((file) => fs.existsSync(file)), [true, true, true, true]);
        assert.deepEqual(releaseStaleLocks(stateDir, "pluggable-mesh", "prod"), [], "another stack has no lock folder");
    });
});
