import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

/**
 * The pull-request workflow, checked by actionlint (rhysd/actionlint, built by tools/tools.sh)
 * since no CI service can be reached from here, plus the rules actionlint does not enforce.
 */

const ROOT = path.resolve(__dirname, "..");
const WORKFLOW = path.join(ROOT, ".github", "workflows", "preview.yml");

function actionlint(): string | undefined {
    const candidate = process.env.ACTIONLINT ?? path.join(process.env.PLUGGABLE_MESH_TOOLS ?? path.join(process.env.HOME ?? "", ".cache", "pluggable-mesh", "tools"), "bin", "actionlint");
    return fs.existsSync(candidate) ? candidate : undefined;
}

describe("the preview workflow", function () {
    it("passes actionlint", function () {
        const binary = actionlint();
        if (!binary) {
            if (process.env.CI) throw new Error("actionlint not found; .ci/run builds it with tools/tools.sh");
            console.log("      (skipped: no actionlint; `bash tools/tools.sh actionlint` builds it)");
            this.skip();
        }
        // actionlint exits non-zero and prints every problem when there is one.
        execFileSync(binary!, [WORKFLOW], { encoding: "utf8", stdio: "pipe" });
        // And it does find problems: the same workflow with a misspelled key fails.
        const broken = path.join(fs.mkdtempSync(path.join(require("node:os").tmpdir(), "workflow-")), "broken.yml");
        fs.writeFileSync(broken, fs.readFileSync(WORKFLOW, "utf8").replace("timeout-minutes: 90", "timeout-minute: 90"));
        assert.throws(() => execFileSync(binary!, [broken], { encoding: "utf8", stdio: "pipe" }), (error: { stdout?: string }) => /timeout-minute/.test(error.stdout ?? ""));
    });

    it("pins every action by commit SHA and grants least privilege", function () {
        const workflow = parseYaml(fs.readFileSync(WORKFLOW, "utf8")) as {
            permissions: Record<string, string>;
            jobs: Record<string, { permissions: Record<string, string>; steps: { uses?: string }[] }>;
        };
        assert.deepEqual(workflow.permissions, {});
        for (const job of Object.values(workflow.jobs)) {
            assert.deepEqual(job.permissions, { contents: "read", "pull-requests": "write" });
            const uses = job.steps.map((step) => step.uses).filter((use): use is string => use !== undefined);
            assert.ok(uses.length >= 4);
            for (const use of uses) assert.match(use, /^[\w-]+\/[\w-]+@[0-9a-f]{40}$/, `${use} is pinned by a full commit SHA`);
        }
    });

    it("runs the README's pr-preview command and reads the allow label", function () {
        const text = fs.readFileSync(WORKFLOW, "utf8");
        assert.match(text, /npm run pr-preview -- --base "origin\/\$\{BASE_REF\}"/);
        assert.match(text, /contains\(github\.event\.pull_request\.labels\.\*\.name, 'allow-data-loss'\)/);
    });
});
