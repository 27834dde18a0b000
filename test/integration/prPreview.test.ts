import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../engine/engine";
import type { ResourceChange, StackReport } from "../../cli/prReport";
import { asRepository, git, scratchProject } from "../support/scratchProject";

/**
 * `npm run pr-preview` end to end, in scratch git repositories made from this checkout: the base
 * revision is deployed for real (render mode) into a scratch backend and the head is previewed
 * against it by the real engine. Each scenario keeps only the stacks it needs, to stay fast.
 */

interface Outcome {
    status: number | null;
    markdown: string;
    json: { reports: Omit<StackReport, "diffText">[]; blocking: number; failed: number; mandatory: number };
    stderr: string;
}

/** A repository holding this checkout's files as its `main`, with only `stacks` kept, on a branch `change`. */
function scratchRepo(stacks: string[]): string {
    const dir = scratchProject(stacks);
    asRepository(dir);
    return dir;
}

function edit(dir: string, file: string, change: (text: string) => string): void {
    const target = path.join(dir, file);
    const before = fs.readFileSync(target, "utf8");
    const after = change(before);
    assert.notEqual(after, before, `the scenario's edit of ${file} must change it`);
    fs.writeFileSync(target, after);
    git(dir, "commit", "-qam", `change ${file}`);
}

function prPreview(dir: string, ...args: string[]): Outcome {
    const env = { ...process.env };
    delete env.PULUMI_BACKEND_URL; // self-contained: no team backend
    const result = spawnSync(path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), [path.join(dir, "cli", "prPreview.ts"), "--base", "main", "--out", "report.md", "--json", "report.json", ...args], {
        cwd: dir,
        env,
        encoding: "utf8",
        // The report is read from its files; stdout (the same report) is not captured.
        stdio: ["ignore", "ignore", "pipe"],
    });
    const read = (file: string) => (fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), "utf8") : "");
    return { status: result.status, markdown: read("report.md"), json: JSON.parse(read("report.json") || "{}"), stderr: result.stderr };
}

const PROTECTED = new Set(["Deployment", "StatefulSet", "Service", "PersistentVolumeClaim"]);

function changesOf(outcome: Outcome, stack: string): ResourceChange[] {
    const report = outcome.json.reports.find((candidate) => candidate.stack === stack);
    assert.ok(report, `stack ${stack} was previewed; stderr: ${outcome.stderr}`);
    return report.changes;
}

describe("pr-preview in scratch repositories", function () {
    const repos: string[] = [];
    const repo = (stacks: string[]) => {
        const dir = scratchRepo(stacks);
        repos.push(dir);
        return dir;
    };

    after(function () {
        for (const dir of repos) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("(a) moving staging from envoy to istio lists only in-place updates of workloads and exits 0", function () {
        const dir = repo(["dev", "staging"]);
        edit(dir, "Pulumi.staging.yaml", (text) =>
            text.replace("pluggable-mesh:mode: envoy", "pluggable-mesh:mode: istio\n  pluggable-mesh:istio:\n    controlPlane: install\n    gateway:\n      enabled: true"),
        );
        const outcome = prPreview(dir);
        assert.equal(outcome.status, 0, outcome.stderr);
        assert.deepEqual(outcome.json.reports.map((report) => report.stack), ["staging"]);
        const changes = changesOf(outcome, "staging");
        const workloads = changes.filter((change) => PROTECTED.has(change.kind) && change.name.startsWith("ruoyi/"));
        assert.equal(workloads.length, 12, "4 workloads and 8 Services of RuoYi");
        assert.deepEqual([...new Set(workloads.map((change) => change.op))].sort(), ["same", "update"]);
        assert.ok(changes.some((change) => change.kind === "Deployment" && change.name === "ruoyi/ruoyi-admin" && change.op === "update" && change.fields.some((field) => field.startsWith("spec.template"))));
        assert.ok(changes.some((change) => change.kind === "Chart" && change.op === "create"), "the control plane is created");
        assert.equal(outcome.json.blocking, 0);
        assert.doesNotMatch(outcome.markdown, /Blocking/);
        // The control plane's charts pass the pack too; staging's mTLS is PERMISSIVE, which production would refuse.
        assert.equal(outcome.json.mandatory, 0, outcome.markdown);
        assert.deepEqual([...new Set((outcome.json.reports[0]!.violations ?? []).map((violation) => `${violation.level} ${violation.policy}`))], ["advisory production-mtls"]);
        const validation = outcome.json.reports[0]!.validation;
        assert.ok(validation?.ok, validation?.summary);
        assert.match(validation.summary, /istioctl analyze: 0 errors, 0 warnings/);
        assert.match(outcome.markdown, /✅ validators pass: istioctl analyze, kube-score, promtool/);
        assert.match(outcome.markdown, /### Stack `staging`/);
        assert.match(outcome.markdown, /<details><summary>Full <code>pulumi preview --diff<\/code><\/summary>/);
    });

    it("(b) changing a volume claim template is a blocking StatefulSet replacement, allowed with the flag", function () {
        const dir = repo(["dev"]);
        edit(dir, "stacks/apps/ruoyi.yaml", (text) => text.replace("storage: { size: 10Gi", "storage: { size: 20Gi"));
        const blocked = prPreview(dir);
        assert.equal(blocked.status, 1, blocked.stderr);
        const mysql = changesOf(blocked, "dev").find((change) => change.kind === "StatefulSet" && change.name === "ruoyi/mysql");
        assert.ok(mysql && mysql.blocking && mysql.op === "replace", JSON.stringify(mysql));
        assert.ok(mysql.fields.some((field) => field.startsWith("spec.volumeClaimTemplates")), JSON.stringify(mysql.fields));
        assert.match(blocked.markdown, /### ⛔ Blocking: 1 replacement\(s\) or deletion\(s\)/);
        assert.match(blocked.markdown, /\| dev \| StatefulSet \| ruoyi\/mysql \| \*\*replace\*\* \|/);

        const allowed = prPreview(dir, "--allow-blocking");
        assert.equal(allowed.status, 0, allowed.stderr);
        assert.match(allowed.markdown, /### ⚠️ Allowed: 1 replacement\(s\) or deletion\(s\)/);
    });

    it("(c) a bad app spec shows our message naming the file and the field", function () {
        const dir = repo(["dev"]);
        edit(dir, "stacks/apps/ruoyi.yaml", (text) => text.replace("{ name: mysql, port: 3306, protocol: tcp }", "{ name: mysql, port: 70000, protocol: tcp }"));
        const outcome = prPreview(dir);
        assert.equal(outcome.status, 1, outcome.stderr);
        assert.equal(outcome.json.failed, 1);
        assert.match(outcome.markdown, /\*\*The preview failed:\*\*/);
        assert.match(outcome.markdown, /invalid configuration \(1 problem\):\nstacks\/apps\/ruoyi\.yaml: components\[2\]\.ports\[0\]\.port: expected at most 65535, given 70000/);
        assert.doesNotMatch(outcome.markdown, /\n\s+at .+\.(ts|js):\d+:\d+/, "no stack trace");
    });

    it("(e) an unpinned image is a mandatory policy violation: listed at the top and per stack, exit 1 whatever the label", function () {
        const dir = repo(["staging"]);
        edit(dir, "stacks/apps/ruoyi.yaml", (text) => text.replace("image: docker.io/library/nginx:1.27.3", "image: docker.io/library/nginx"));
        const outcome = prPreview(dir, "--allow-blocking");
        assert.equal(outcome.status, 1, outcome.stderr);
        assert.equal(outcome.json.mandatory, 1);
        const report = outcome.json.reports.find((candidate) => candidate.stack === "staging")!;
        assert.equal(report.error, undefined, "a policy finding is not a failed preview");
        // kube-score agrees (an untagged image is a critical finding there too), so the validators fail as well.
        assert.equal(report.validation?.ok, false);
        const row = '| staging | image-pinned | Deployment ruoyi/ruoyi-ui | Deployment ruoyi/ruoyi-ui: container "ruoyi-ui" image "docker.io/library/nginx" has no tag (it means latest); pin a tag other than latest or a digest |';
        assert.ok(outcome.markdown.includes(`### ⛔ Policy: 1 mandatory violation(s)\n\n| stack | policy | resource | violation |\n|---|---|---|---|\n${row}`), outcome.markdown);
        const staging = outcome.markdown.slice(outcome.markdown.indexOf("### Stack `staging`"));
        assert.ok(staging.indexOf("Policy pack: ⛔ 1 mandatory, 4 advisory") < staging.indexOf("<details><summary>Full <code>pulumi preview --diff"), staging);
        assert.ok(changesOf(outcome, "staging").some((change) => change.kind === "Deployment" && change.name === "ruoyi/ruoyi-ui" && change.op === "update"), "the diff is still shown");
    });

    it("(d) a change to nothing deployable previews no stack", function () {
        const dir = repo(["dev", "staging", "prod"]);
        edit(dir, "README.md", (text) => `${text}\nA line.\n`);
        const outcome = prPreview(dir);
        assert.equal(outcome.status, 0, outcome.stderr);
        assert.deepEqual(outcome.json.reports, []);
        assert.match(outcome.markdown, /No stack is affected by this change/);
    });
});
