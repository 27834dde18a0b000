import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { asRepository, git, runScript, scratchProject } from "../support/scratchProject";

/**
 * Issue #11 in the PR preview: `npm run pr-preview` posts what it prints as a pull-request
 * comment, so a change that points an app spec at a file holding a secret must never put the
 * secret into the Markdown report, its JSON or the diff beside it.
 */

const FAKE_TOKEN = "ghp_FAKEprPreview0123456789abcdefFAKE01";

describe("pr-preview never posts a file's secret", function () {
    let repository: string;
    let outside: string;

    before(function () {
        repository = scratchProject(["dev"]);
        asRepository(repository);
        outside = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-outside-"));
    });

    after(function () {
        for (const dir of [repository, outside]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("a head commit whose stack lists spec files holding a token (inside and outside the project) fails the preview without the token", async function () {
        fs.writeFileSync(path.join(repository, "token.txt"), `${FAKE_TOKEN}\n`);
        fs.writeFileSync(path.join(repository, "token.yaml"), `name: shop\ntoken: "${FAKE_TOKEN}\n  broken: [\n`);
        fs.writeFileSync(path.join(outside, "token.yaml"), `name: ${FAKE_TOKEN}\n`);
        const stackFile = path.join(repository, "Pulumi.dev.yaml");
        const before = fs.readFileSync(stackFile, "utf8");
        const after = before.replace("    - spec: stacks/apps/ruoyi.yaml\n", `    - spec: stacks/apps/ruoyi.yaml\n    - spec: token.txt\n    - spec: token.yaml\n    - spec: ${path.join(outside, "token.yaml")}\n`);
        assert.notEqual(after, before);
        fs.writeFileSync(stackFile, after);
        git(repository, "add", "-A");
        git(repository, "commit", "-qm", "apps from files holding a token");

        const env = { ...process.env };
        delete env.PULUMI_BACKEND_URL; // self-contained: no team backend
        const run = await runScript(repository, "cli/prPreview.ts", ["--base", "main", "--out", "report.md", "--json", "report.json"], env);
        const markdown = fs.readFileSync(path.join(repository, "report.md"), "utf8");
        const json = fs.readFileSync(path.join(repository, "report.json"), "utf8");
        const diff = fs.readFileSync(path.join(repository, "pr-preview-dev.diff"), "utf8");
        assert.equal(run.status, 1, run.stderr);
        assert.equal((JSON.parse(json) as { failed: number }).failed, 1);
        assert.match(markdown, /\*\*The preview failed:\*\*\n\n```\ninvalid configuration \(3 problems\):\n/);
        for (const problem of [
            'pluggable-mesh:apps[2].spec: "token.yaml" is not valid YAML: Missing closing "quote at line 4, column 1',
            `pluggable-mesh:apps[3].spec: ${JSON.stringify(path.join(outside, "token.yaml"))} leads outside the allowed folders (symlinks followed); use a path inside the project (relative to its root)`,
            `token.txt: (top level): expected a mapping, given a string of ${FAKE_TOKEN.length} characters`,
        ]) {
            assert.ok(markdown.includes(problem), `the report says ${problem}`);
        }
        // Negative control: the token is in the files the stack points at.
        assert.ok(fs.readFileSync(path.join(repository, "token.txt"), "utf8").includes(FAKE_TOKEN));
        for (const [name, text] of Object.entries({ markdown, json, diff, stdout: run.stdout, stderr: run.stderr })) {
            assert.ok(!text.includes(FAKE_TOKEN), `the token is not in the ${name}`);
            assert.doesNotMatch(text, /^\s+at .+:\d+:\d+\)?$/m, `no stack trace in the ${name}`);
        }
    });
});
