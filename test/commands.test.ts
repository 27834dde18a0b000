import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../components/resources";
import { describeFailure, parseCommandLine, UsageError, withoutInternals } from "../cli/command";
import { describeObject, forgetClusterRecord, readBack, readClusterRecord, writeClusterRecord } from "../engine/clusterRecord";
import { stateObjects } from "../engine/lifecycle";
import { targetOf } from "../engine/engine";
import { UserError } from "../engine/errors";
import { configOf, parseStackFile, readStackFile, stackFileName } from "../engine/stackFile";
import { asRepository, git, limited, PROJECT_ROOT, runScript, scratchProject, type CommandRun } from "./support/scratchProject";

/**
 * Class 7 of issue #11: every user mistake on the command line or in a stack file ends in one
 * message naming the file (and line), exit code 1 (2 for a usage error), no stack trace and no
 * node_modules path; `--help` prints the usage and exits 0. The commands are spawned for real.
 */

/** A stack frame as Node prints it; the negative control below proves the pattern finds one. */
const STACK_FRAME = /^\s+at .+[(\s/].*:\d+:\d+\)?$/m;
const FAKE_TOKEN = "sk-live-FAKE-0123456789abcdef";

function assertClean(run: CommandRun): void {
    const text = `${run.stdout}\n${run.stderr}`;
    assert.doesNotMatch(text, STACK_FRAME, text);
    assert.doesNotMatch(text, /node_modules/, text);
    assert.ok(!text.includes(FAKE_TOKEN), "no file content is echoed");
    assert.ok(!text.includes(PROJECT_ROOT), "no absolute project path");
}

describe("stack files: one reader, one message per mistake", function () {
    it("parses the shipped stacks as the engine would hand them to the program", function () {
        const { file, document } = readStackFile("dev");
        assert.equal(file, path.join(PROJECT_ROOT, "Pulumi.dev.yaml"));
        assert.equal(configOf(document)["pluggable-mesh:mode"], "native");
        assert.deepEqual(configOf({ config: { "a:b": { secure: "v1:xyz" }, "a:c": [1], "a:d": "x" } }), { "a:c": "[1]", "a:d": "x" });
    });

    const broken: [string, string, string][] = [
        ["a duplicate key", `config:\n  pluggable-mesh:mode: native\n  pluggable-mesh:mode: ${FAKE_TOKEN}\n`, "Pulumi.x.yaml:3:3: not valid YAML: Map keys must be unique"],
        ["an unclosed list", `config:\n  pluggable-mesh:apps: [ {spec: ${FAKE_TOKEN}}\n  other: 1\n`, "Pulumi.x.yaml:3:3: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]"],
        ["a tab as indentation", `config:\n\tpluggable-mesh:mode: ${FAKE_TOKEN}\n`, "Pulumi.x.yaml:2:1: not valid YAML: Tabs are not allowed as indentation"],
        ["an unresolved alias", `config:\n  pluggable-mesh:mode: *${FAKE_TOKEN}\n`, "Pulumi.x.yaml: not valid YAML: Unresolved alias (the anchor must be set before the alias)"],
        ["an alias bomb", `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, ${FAKE_TOKEN}]\n`, "Pulumi.x.yaml: not valid YAML: Excessive alias count indicates a resource exhaustion attack"],
        ["a list at the top", `- ${FAKE_TOKEN}\n`, `Pulumi.x.yaml: expected a mapping with a "config:" key at the top, given a list`],
        ["a string at the top", `${FAKE_TOKEN}\n`, `Pulumi.x.yaml: expected a mapping with a "config:" key at the top, given a string`],
        ["config as a list", `config:\n  - ${FAKE_TOKEN}\n`, `Pulumi.x.yaml: config: expected a mapping of "pluggable-mesh:<key>": value, given a list`],
        ["a salt that is not text", `encryptionsalt: [${FAKE_TOKEN}]\nconfig: {}\n`, "Pulumi.x.yaml: encryptionsalt: expected a string, given a list"],
    ];
    for (const [what, text, message] of broken) {
        it(`refuses ${what} with a ConfigError naming the file (and line)`, function () {
            assert.throws(
                () => parseStackFile(text, "Pulumi.x.yaml"),
                (error: unknown) => error instanceof ConfigError && error.message === `invalid configuration (1 problem):\n${message}`,
            );
        });
    }

    it("quotes nothing of the file (negative control: the token is in every text)", function () {
        for (const [, text] of broken) assert.ok(text.includes(FAKE_TOKEN));
        for (const [what, text] of broken) {
            assert.throws(() => parseStackFile(text, "Pulumi.x.yaml"), (error: Error) => !error.message.includes(FAKE_TOKEN), what);
        }
    });

    it("an empty file is a stack with no config", function () {
        assert.deepEqual(parseStackFile("", "Pulumi.x.yaml"), { config: {} });
        assert.deepEqual(parseStackFile("config:\n", "Pulumi.x.yaml"), { config: {} });
    });

    it("stack names cannot leave the project root", function () {
        for (const good of ["dev", "it-switch-native", "a.b_c", "x".repeat(100)]) assert.equal(stackFileName(good), `Pulumi.${good}.yaml`);
        for (const bad of ["", ".", "..", "../dev", "a/b", "dev\n", "x".repeat(101)]) {
            assert.throws(() => stackFileName(bad), (error: unknown) => error instanceof UserError && /is not a stack name; stack names use letters, digits, "-", "_" and "\." \(at most 100\)$/.test((error as Error).message), JSON.stringify(bad));
        }
        assert.throws(() => stackFileName("x".repeat(101)), { message: `"${"x".repeat(60)}…" (101 characters) is not a stack name; stack names use letters, digits, "-", "_" and "." (at most 100)` });
    });

    it("a stack without a file names the stacks there", function () {
        assert.throws(() => readStackFile("prdo"), { name: "UserError", message: `no stack "prdo": there is no Pulumi.prdo.yaml; the stacks here are dev, fleet, fleet-bookinfo, fleet-ruoyi, prod, staging` });
    });
});

describe("the commands' error reporting (cli/command.ts)", function () {
    const usage = "usage: do it";

    it("parses strictly: unknown options and missing values are usage errors", function () {
        const spec = { usage, options: { stack: { type: "string" } } } as const;
        assert.equal(parseCommandLine(spec, ["--stack", "dev"]).values.stack, "dev");
        assert.throws(() => parseCommandLine(spec, ["--stak", "dev"]), (error: unknown) => error instanceof UsageError && error.message === "Unknown option '--stak'");
        assert.throws(() => parseCommandLine(spec, ["--stack"]), (error: unknown) => error instanceof UsageError && error.message === "Option '--stack <value>' argument missing");
        assert.throws(() => parseCommandLine(spec, ["extra"]), (error: unknown) => error instanceof UsageError && /^Unexpected argument 'extra'/.test((error as Error).message));
    });

    it("a user mistake is its message, exit 1; a usage error adds the usage, exit 2", function () {
        assert.deepEqual(describeFailure(new ConfigError([{ key: "Pulumi.dev.yaml:3:1", message: "not valid YAML: x" }]), usage, false), {
            text: "error: invalid configuration (1 problem):\nPulumi.dev.yaml:3:1: not valid YAML: x",
            exitCode: 1,
        });
        assert.deepEqual(describeFailure(new UserError("no stack"), usage, false), { text: "error: no stack", exitCode: 1 });
        assert.deepEqual(describeFailure(new UsageError("Unknown option '--x'"), usage, false), { text: "error: Unknown option '--x'\n\nusage: do it", exitCode: 2 });
    });

    it("an engine failure shows the engine's stderr without stack frames or the project's path", function () {
        const engine = Object.assign(new Error("code: 255 ..."), {
            commandResult: { code: 255, stdout: "streamed", stderr: `error: update failed\n    at Object.<anonymous> (${PROJECT_ROOT}/node_modules/x/y.js:1:2)\nsee ${PROJECT_ROOT}/out/dev` },
        });
        assert.deepEqual(describeFailure(engine, usage, false), { text: "error: error: update failed\nsee out/dev", exitCode: 1 });
    });

    it("a bug says so, without a stack trace unless PLUGGABLE_MESH_DEBUG is set", function () {
        const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
        const plain = describeFailure(bug, usage, false);
        assert.deepEqual(plain, {
            text: "internal error: Cannot read properties of undefined (reading 'x')\n(this is a bug in pluggable-mesh, not in your input; PLUGGABLE_MESH_DEBUG=1 shows where it happened)",
            exitCode: 1,
        });
        // Negative control: the stack-frame pattern finds the frames the debug text carries.
        assert.match(bug.stack!, STACK_FRAME);
        assert.match(describeFailure(bug, usage, true).text, STACK_FRAME);
        assert.equal(withoutInternals(`a\n${bug.stack!.split("\n").slice(1).join("\n")}\nb`), "a\nb");
    });
});

describe("the commands' stack traces (cli/command.ts)", function () {
    /** What a command's main sees of Node's source-map setting, with the given environment. */
    function mapsInMain(env: Record<string, string>): string {
        const main = 'require("./cli/command").runCommand({ usage: "u" }, async () => { process.stdout.write(String(process.sourceMapsEnabled)); })';
        const environment = { ...process.env, ...env };
        delete environment.PLUGGABLE_MESH_DEBUG;
        return execFileSync(path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), ["-e", main], { cwd: PROJECT_ROOT, env: { ...environment, ...env }, encoding: "utf8" });
    }

    it("are not source-mapped unless PLUGGABLE_MESH_DEBUG asks for them (tsx maps them otherwise)", function () {
        assert.equal(mapsInMain({}), "false");
        // Negative control: tsx turns mapping on, and debugging keeps it on.
        assert.equal(mapsInMain({ PLUGGABLE_MESH_DEBUG: "1" }), "true");
    });
});

describe("the commands, spawned: one message, the right exit code", function () {
    let project: string;
    let repository: string;
    const runs = new Map<string, CommandRun>();
    const cases: Record<string, { dir: () => string; script: string; args: string[] }> = {
        "render, duplicate key": { dir: () => project, script: "cli/render.ts", args: ["--stack", "dupkey"] },
        "validate, YAML syntax error": { dir: () => project, script: "cli/validate.ts", args: ["--stack", "syntax"] },
        "preview, mistyped stack": { dir: () => project, script: "cli/stack.ts", args: ["preview", "--stack", "prdo"] },
        "render, --help": { dir: () => project, script: "cli/render.ts", args: ["--help"] },
        "stack, unknown command": { dir: () => project, script: "cli/stack.ts", args: ["deploy"] },
        "cluster, unknown command": { dir: () => project, script: "cli/cluster.ts", args: ["stat"] },
        "pr-preview, no --base": { dir: () => project, script: "cli/prPreview.ts", args: [] },
        "pr-preview, broken stack file in the change": { dir: () => repository, script: "cli/prPreview.ts", args: ["--base", "main"] },
    };

    before(async function () {
        this.timeout(240_000);
        project = scratchProject(["dev", "prod", "staging"]);
        fs.writeFileSync(path.join(project, "Pulumi.dupkey.yaml"), `config:\n  pluggable-mesh:mode: native\n  pluggable-mesh:mode: ${FAKE_TOKEN}\n`);
        fs.writeFileSync(path.join(project, "Pulumi.syntax.yaml"), `config:\n  pluggable-mesh:kialiSigningKey: ${FAKE_TOKEN}\n  pluggable-mesh:apps: [ {spec: x}\n  pluggable-mesh:mode: native\n`);
        repository = scratchProject(["dev"]);
        asRepository(repository);
        fs.appendFileSync(path.join(repository, "Pulumi.dev.yaml"), `  pluggable-mesh:mode: ${FAKE_TOKEN}\n`);
        git(repository, "commit", "-qam", "a second mode");
        const names = Object.keys(cases);
        const results = await limited(names.map((name) => () => runScript(cases[name]!.dir(), cases[name]!.script, cases[name]!.args)));
        names.forEach((name, index) => runs.set(name, results[index]!));
    });

    after(function () {
        for (const dir of [project, repository]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    function expect(name: string, status: number, stderr: string, stdout = ""): void {
        const run = runs.get(name)!;
        assert.deepEqual({ status: run.status, stderr: run.stderr, stdout: run.stdout }, { status, stderr, stdout });
        assertClean(run);
    }

    const STACKS = "dev, dupkey, prod, staging, syntax";

    it("render: a duplicate key in Pulumi.<stack>.yaml names the file and line", function () {
        expect("render, duplicate key", 1, "error: invalid configuration (1 problem):\nPulumi.dupkey.yaml:3:3: not valid YAML: Map keys must be unique\n");
    });

    it("validate: a YAML syntax error names the file and line, before any tool is built", function () {
        expect("validate, YAML syntax error", 1, "error: invalid configuration (1 problem):\nPulumi.syntax.yaml:4:3: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]\n");
    });

    it("preview: a mistyped stack name lists the stacks, before the engine or a cluster starts", function () {
        expect("preview, mistyped stack", 1, `error: no stack "prdo": there is no Pulumi.prdo.yaml; the stacks here are ${STACKS}\n`);
    });

    it("an unknown command prints the usage and exits 2; --help prints it and exits 0", function () {
        const help = runs.get("render, --help")!;
        assert.equal(help.status, 0);
        assert.match(help.stdout, /^usage: npm run render -- \[--stack <name>\] \[--out <dir>\]\n/);
        assert.equal(help.stderr, "");
        const unknown = runs.get("stack, unknown command")!;
        assert.equal(unknown.status, 2);
        assert.match(unknown.stderr, /^error: unknown command "deploy"; use one of start, up, preview, destroy, outputs\n\nusage: npm start/);
        const cluster = runs.get("cluster, unknown command")!;
        assert.equal(cluster.status, 2);
        assert.match(cluster.stderr, /^error: unknown command "stat"\n\nusage: tsx cli\/cluster\.ts start \[--foreground\] \| stop \| status \| kubeconfig\n/);
        assertClean(cluster);
    });

    it("pr-preview: a missing --base is a usage error; a broken stack file in the change names its file and line", function () {
        const noBase = runs.get("pr-preview, no --base")!;
        assert.equal(noBase.status, 2);
        assert.match(noBase.stderr, /^error: --base <git ref> is required \(the branch the change will merge into, e\.g\. origin\/main\)\n\nusage: npm run pr-preview/);
        const lines = fs.readFileSync(path.join(repository, "Pulumi.dev.yaml"), "utf8").split("\n").length - 1;
        expect("pr-preview, broken stack file in the change", 1, `error: invalid configuration (1 problem):\nPulumi.dev.yaml:${lines}:3: not valid YAML: Map keys must be unique\n`);
    });
});

describe("the cluster a state is for (engine/clusterRecord.ts, targetOf)", function () {
    let dir: string;
    before(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-record-"));
    });
    after(function () {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("round-trips a record next to the state and forgets it", function () {
        assert.equal(readClusterRecord(dir, "dev"), undefined);
        const record = { embedded: true, clusterDir: "/x/.cluster", server: "https://127.0.0.1:1", kubeSystemUid: "uid-1" };
        writeClusterRecord(dir, "dev", record);
        assert.deepEqual(readClusterRecord(dir, "dev"), record);
        assert.equal(readClusterRecord(dir, "prod"), undefined);
        forgetClusterRecord(dir, "dev");
        assert.equal(readClusterRecord(dir, "dev"), undefined);
    });

    it("a damaged record counts as none", function () {
        fs.mkdirSync(path.join(dir, "config"), { recursive: true });
        fs.writeFileSync(path.join(dir, "config", "dev.cluster.json"), "{ not json");
        assert.equal(readClusterRecord(dir, "dev"), undefined);
        fs.writeFileSync(path.join(dir, "config", "dev.cluster.json"), JSON.stringify({ embedded: true }));
        assert.equal(readClusterRecord(dir, "dev"), undefined);
    });

    it("tells render mode, the embedded cluster and a cluster of the user's apart", function () {
        assert.deepEqual(targetOf({ renderYamlToDirectory: "out/dev/rendered" }), { kind: "render", dir: path.join(PROJECT_ROOT, "out", "dev", "rendered") });
        // A kubeconfig in a folder where no embedded cluster runs is a cluster of the user's.
        assert.deepEqual(targetOf({ kubeconfig: path.join(dir, "kubeconfig") }), { kind: "cluster" });
        assert.deepEqual(targetOf(undefined), { kind: "cluster" });
        assert.deepEqual(targetOf({ context: "prod" }), { kind: "cluster" });
    });
});

describe("reading the state's objects back (readBack)", function () {
    const discovery: Record<string, unknown> = {
        "/api/v1": { resources: [{ name: "namespaces", kind: "Namespace", namespaced: false }, { name: "services", kind: "Service", namespaced: true }, { name: "services/status", kind: "Service", namespaced: true }] },
        "/apis/apps/v1": { resources: [{ name: "deployments", kind: "Deployment", namespaced: true }] },
    };
    const live: Record<string, string> = {
        "/api/v1/namespaces/ruoyi": "uid-ns",
        "/api/v1/namespaces/ruoyi/services/redis": "uid-svc",
        "/apis/apps/v1/namespaces/ruoyi/deployments/redis": "uid-other",
    };
    const requested: string[] = [];
    const get = async (apiPath: string) => {
        requested.push(apiPath);
        if (discovery[apiPath]) return { status: 200, body: discovery[apiPath] };
        if (live[apiPath]) return { status: 200, body: { metadata: { uid: live[apiPath] } } };
        return { status: 404, body: {} };
    };

    it("finds missing and replaced objects by their kind's path and UID", async function () {
        const check = await readBack(
            [
                { apiVersion: "v1", kind: "Namespace", name: "ruoyi", uid: "uid-ns" },
                { apiVersion: "v1", kind: "Service", namespace: "ruoyi", name: "redis", uid: "uid-svc" },
                { apiVersion: "apps/v1", kind: "Deployment", namespace: "ruoyi", name: "redis", uid: "uid-deployment" },
                { apiVersion: "apps/v1", kind: "Deployment", namespace: "ruoyi", name: "mysql", uid: "uid-mysql" },
                { apiVersion: "networking.istio.io/v1", kind: "VirtualService", namespace: "ruoyi", name: "redis" },
            ],
            get,
        );
        assert.deepEqual(check.missing.map(describeObject), ["Deployment ruoyi/mysql", "VirtualService ruoyi/redis"]);
        assert.deepEqual(check.replaced.map(describeObject), ["Deployment ruoyi/redis"]);
        assert.equal(check.read, 5);
        // Discovery once per group version; a cluster-scoped kind is read without a namespace.
        assert.equal(requested.filter((apiPath) => apiPath === "/apis/apps/v1").length, 1);
        assert.ok(requested.includes("/api/v1/namespaces/ruoyi"));
    });

    it("lists the Kubernetes objects a state owns, not components, providers or reads", function () {
        const objects = stateObjects([
            { type: "pulumi:pulumi:Stack", custom: false },
            { type: "pulumi:providers:kubernetes", custom: true, outputs: {} },
            { type: "pluggable-mesh:app:GovernedApp", custom: false },
            { type: "kubernetes:core/v1:Namespace", custom: true, external: true, outputs: { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } } },
            { type: "kubernetes:apps/v1:Deployment", custom: true, outputs: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "redis", namespace: "ruoyi", uid: "u1" } } },
            { type: "kubernetes:core/v1:Namespace", custom: true, outputs: { apiVersion: "v1", kind: "Namespace", metadata: { name: "ruoyi" } } },
        ]);
        assert.deepEqual(objects, [
            { apiVersion: "apps/v1", kind: "Deployment", name: "redis", namespace: "ruoyi", uid: "u1" },
            { apiVersion: "v1", kind: "Namespace", name: "ruoyi" },
        ]);
    });
});
