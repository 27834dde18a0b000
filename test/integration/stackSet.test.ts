import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runScript, scratchProject, type CommandRun } from "../support/scratchProject";

/**
 * `npm run up|destroy -- --stack fleet` on the example set (Pulumi.fleet.yaml and the app stacks
 * naming it), through the command itself: each stack in a child process of its own, the real
 * engine and provider, render mode, a file backend inside a scratch copy of the project. Checks
 * the order (the platform's process ends before an app stack's starts; destroy in reverse), the
 * summary, and that an app stack without a deployed platform is stopped with what to run.
 */

const SET = ["fleet", "fleet-bookinfo", "fleet-ruoyi"];

interface SummaryRow {
    stack: string;
    operation: string;
    result: string;
    changes: string;
}

/** The summary table at the end of stdout: one row per run. */
function summaryOf(run: CommandRun): SummaryRow[] {
    const lines = run.stdout.trimEnd().split("\n");
    const header = lines.findIndex((line) => /^stack\s+operation\s+result\s+changes\s+seconds$/.test(line));
    assert.ok(header >= 0, `a summary table ends the output:\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
    return lines.slice(header + 1).map((line) => {
        const [stack, operation, result, changes] = line.split(/\s{2,}/);
        return { stack: stack!, operation: operation!, result: result!, changes: changes! };
    });
}

/** Indexes of the output lines each stack's process printed (they carry its name as prefix). */
function linesOf(run: CommandRun, stack: string): number[] {
    return run.stdout.split("\n").flatMap((line, index) => (line.startsWith(`${stack.padEnd(Math.max(...SET.map((name) => name.length)))} | `) ? [index] : []));
}

describe("npm run up|destroy over the example set of stacks (real engine, render mode)", function () {
    let project: string;
    let env: NodeJS.ProcessEnv;
    const stack = (args: string[]) => runScript(project, "cli/stack.ts", args, env);

    before(function () {
        project = scratchProject(SET);
        const edit = (file: string, change: (text: string) => string) => {
            const before = fs.readFileSync(path.join(project, file), "utf8");
            const after = change(before);
            assert.notEqual(after, before, `the edit of ${file} changes it`);
            fs.writeFileSync(path.join(project, file), after);
        };
        // Render mode even on a machine with a kubeconfig (the embedded default would then target its cluster).
        for (const name of SET) edit(`Pulumi.${name}.yaml`, (text) => `${text.trimEnd()}\n  pluggable-mesh:kubernetes: { renderYamlToDirectory: out/${name}/rendered }\n`);
        // A file backend inside the scratch project, whatever the machine's login.
        env = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(project, ".pulumi-state")}` };
        fs.mkdirSync(path.join(project, ".pulumi-state"), { recursive: true });
    });

    after(function () {
        if (project) fs.rmSync(project, { recursive: true, force: true });
    });

    it("an app stack whose platform has no deployment is stopped before anything runs, saying what to run", async function () {
        const run = await stack(["up", "--stack", "fleet-ruoyi", "--no-policy"]);
        assert.deepEqual({ status: run.status, stderr: run.stderr, stdout: run.stdout }, {
            status: 1,
            stderr: "error: stack fleet-ruoyi reads the outputs of fleet (its platform), which has no deployment; run `npm run up -- --stack fleet` first\n",
            stdout: "",
        });
    });

    it("up: the platform first, then the app stacks side by side; destroy in exact reverse, every resource the up made", async function () {
        const up = await stack(["up", "--stack", "fleet", "--parallel", "2", "--no-policy"]);
        assert.equal(up.status, 0, up.stderr);
        const upRows = summaryOf(up);
        assert.deepEqual(upRows.map(({ stack: name, operation, result }) => `${name} ${operation} ${result}`), ["fleet up ok", "fleet-bookinfo up ok", "fleet-ruoyi up ok"]);
        for (const row of upRows) assert.ok(Number(row.changes) > 0, `${row.stack} created resources: ${row.changes}`);
        assert.match(up.stdout, /^up of the set of fleet: fleet → fleet-bookinfo \+ fleet-ruoyi \(at most 2 at once\)$/m);
        // The platform's process printed its last line before either app stack's first; no peers changed that another stack reads.
        for (const app of ["fleet-bookinfo", "fleet-ruoyi"]) assert.ok(Math.min(...linesOf(up, app)) > Math.max(...linesOf(up, "fleet")), `${app} started after fleet ended`);
        assert.doesNotMatch(up.stdout, /runs again/);
        for (const name of SET) assert.ok(fs.existsSync(path.join(project, "out", name, "rendered")), `${name} rendered its objects`);

        const destroy = await stack(["destroy", "--stack", "fleet", "--parallel", "2"]);
        assert.equal(destroy.status, 0, destroy.stderr);
        const destroyRows = summaryOf(destroy);
        assert.deepEqual(destroyRows.map(({ stack: name, operation, result }) => `${name} ${operation} ${result}`), ["fleet-ruoyi destroy ok", "fleet-bookinfo destroy ok", "fleet destroy ok"]);
        // Everything each stack's up created is deleted; an app stack also deletes its StackReference to fleet, which up only read.
        const expected = Object.fromEntries(upRows.map((row) => [row.stack, String(Number(row.changes) + (row.stack === "fleet" ? 0 : 1))]));
        assert.deepEqual(Object.fromEntries(destroyRows.map((row) => [row.stack, row.changes])), expected);
        for (const app of ["fleet-bookinfo", "fleet-ruoyi"]) assert.ok(Math.max(...linesOf(destroy, app)) < Math.min(...linesOf(destroy, "fleet")), `${app} was destroyed before fleet started`);

        // The platform has no deployment any more: an app stack is stopped again (the control for the first test).
        const after = await stack(["up", "--stack", "fleet-bookinfo", "--no-policy"]);
        assert.equal(after.status, 1);
        assert.equal(after.stderr, "error: stack fleet-bookinfo reads the outputs of fleet (its platform), which has no deployment; run `npm run up -- --stack fleet` first\n");
    });
});
