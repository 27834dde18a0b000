import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureTools, openStack, type Tools } from "../../engine/engine";
import { deploy } from "../../engine/lifecycle";
import { CASES, expectedMessage, FAKE_TOKEN, SpecFolder, type HostileCase } from "../hostileCases";
import { PROJECT_ROOT, runScript, scratchProject } from "../support/scratchProject";

/**
 * Issue #11 through the real engine: for each class of hostile input, the first case of the unit
 * corpus (test/hostileCases.ts) is deployed with `up` (what `npm run up` runs, engine/lifecycle.ts)
 * in render mode. The engine must fail with our message, show no stack trace, echo no secret or
 * file content, and leave the state without a single resource of ours. Class 7 (a broken stack
 * file) runs the command itself; class 10 is test/integration/staleState.test.ts.
 */

const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

/** A flat config value as Pulumi hands it to the program, back to the YAML value a stack file holds. */
function yamlValue(value: string): unknown {
    if (/^\s*[[{]/.test(value) || value === "true" || value === "false") {
        try {
            return JSON.parse(value);
        } catch {
            return value;
        }
    }
    return value;
}

describe("hostile input through the real engine (one case per class of #11)", function () {
    let tools: Tools;
    let stateDir: string;
    let files: SpecFolder;

    before(function () {
        tools = ensureTools();
        fs.mkdirSync(path.join(PROJECT_ROOT, "out"), { recursive: true });
        // Inside the project: config paths (the render folder) may not leave it.
        stateDir = fs.mkdtempSync(path.join(PROJECT_ROOT, "out", "it-hostile-state-"));
        files = new SpecFolder("it-hostile-");
    });

    after(function () {
        files?.remove();
        fs.rmSync(stateDir, { recursive: true, force: true });
    });

    const firstOfEachClass: HostileCase[] = CASES.filter((testCase, index) => CASES.findIndex((other) => other.class === testCase.class) === index);
    it("takes one case of every class the corpus has", function () {
        assert.deepEqual(firstOfEachClass.map((testCase) => testCase.class), [1, 2, 3, 4, 5, 6, 8]);
    });

    for (const testCase of firstOfEachClass) {
        it(`class ${testCase.class}: ${testCase.name}: up fails with our message and creates nothing`, async function () {
            const config = testCase.config(files);
            const overrides = Object.fromEntries(Object.entries(config).map(([key, value]) => [key, yamlValue(value)]));
            // An empty render target of its own: the program's own keys come from the case alone.
            const opened = await openStack(`it-hostile-${testCase.class}`, tools, {
                stateDir,
                configFrom: "dev",
                policy: false,
                overrides: { "pluggable-mesh:apps": [], "pluggable-mesh:kubernetes": { renderYamlToDirectory: path.join(stateDir, "rendered") }, ...overrides },
            });
            const output: string[] = [];
            await assert.rejects(deploy(opened, { onOutput: (text) => output.push(text), log: (text) => output.push(text) }), (error: Error) => {
                const text = `${error.message}\n${output.join("")}`;
                // The whole ConfigError, every problem and no other: the engine adds nothing to our message.
                // (The engine indents the lines of a diagnostic.)
                const expected = expectedMessage(testCase.problems(files));
                const unindented = text.split("\n").map((line) => line.trimStart()).join("\n");
                assert.ok(unindented.includes(expected), `the engine's output holds:\n${expected}\n---- it was:\n${text}`);
                assert.doesNotMatch(text, STACK_FRAME, "no stack trace");
                for (const forbidden of testCase.forbidden ?? [FAKE_TOKEN]) assert.ok(!text.includes(forbidden), `${JSON.stringify(forbidden)} is not echoed`);
                return true;
            });
            const state = await opened.guard(() => opened.stack.exportStack());
            const ours = (state.deployment.resources ?? []).filter((resource: { type: string }) => !resource.type.startsWith("pulumi:"));
            assert.deepEqual(ours, [], "nothing was created");
        });
    }

    it("class 7: a stack file with a duplicate key stops `npm run preview` before the engine starts", async function () {
        const project = scratchProject(["dev"]);
        try {
            fs.writeFileSync(path.join(project, "Pulumi.dup.yaml"), `config:\n  pluggable-mesh:mode: native\n  pluggable-mesh:mode: ${FAKE_TOKEN}\n`);
            const backend = path.join(project, "backend");
            fs.mkdirSync(backend);
            const run = await runScript(project, "cli/stack.ts", ["preview", "--stack", "dup"], { ...process.env, PULUMI_BACKEND_URL: `file://${backend}` });
            assert.deepEqual({ status: run.status, stderr: run.stderr, stdout: run.stdout }, {
                status: 1,
                stderr: "error: invalid configuration (1 problem):\nPulumi.dup.yaml:3:3: not valid YAML: Map keys must be unique\n",
                stdout: "",
            });
            assert.deepEqual(fs.readdirSync(backend), [], "no stack was created in the backend");
            assert.ok(!fs.existsSync(path.join(PROJECT_ROOT, "Pulumi.dup.yaml")));
        } finally {
            fs.rmSync(project, { recursive: true, force: true });
        }
    });
});
