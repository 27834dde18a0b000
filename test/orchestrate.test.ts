/**
 * Running a set of stacks (engine/orchestrate.ts) with fake stack runs: what starts when, at most
 * how many at once, what is not started after a failure, destroy in reverse, the second pass,
 * the summary; and the command line of cli/stack.ts. No engine, no child processes (the real ones
 * run in test/integration/stackSet.test.ts).
 */
import assert from "node:assert/strict";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { parseStackCommandLine, DEFAULT_PARALLEL } from "../cli/stack";
import { UsageError } from "../cli/command";
import { changesOf, exitCodeOfSet, linePrefixer, runStackSet, summaryTable, type Operation, type StackOutcome, type StackRunRecord } from "../engine/orchestrate";
import { peersChangedIn } from "../engine/stackProcess";
import { planStackSet, type AppCalls, type StackEntry } from "../engine/stackSet";

/** fleet (platform); bookinfo and shop stand alone; ruoyi calls bookinfo; bookinfo and ruoyi list each other as peers. */
const ENTRIES: StackEntry[] = [
    { name: "fleet" },
    { name: "fleet-bookinfo", platformStack: "fleet", peerStacks: ["fleet-ruoyi"] },
    { name: "fleet-ruoyi", platformStack: "fleet", peerStacks: ["fleet-bookinfo"] },
    { name: "fleet-shop", platformStack: "fleet" },
];
const APPS: Record<string, AppCalls[]> = {
    fleet: [],
    "fleet-bookinfo": [{ app: "bookinfo", source: "apps/bookinfo.yaml", calls: [] }],
    "fleet-ruoyi": [{ app: "ruoyi", source: "apps/ruoyi.yaml", calls: ["bookinfo"] }],
    "fleet-shop": [{ app: "shop", source: "apps/shop.yaml", calls: [] }],
};
const plan = (target = "fleet") => planStackSet(target, ENTRIES, (stack) => APPS[stack]!);

interface Fake {
    outcome?: Partial<StackOutcome>;
}

/** Fake runs that take one tick each, on a clock of ticks, recording starts, ends and concurrency. */
function fakeRuns(fakes: Record<string, Fake> = {}, deployed: readonly string[] = ["fleet", "fleet-bookinfo", "fleet-ruoyi", "fleet-shop"]) {
    let clock = 0;
    let running = 0;
    const events: string[] = [];
    const logs: string[] = [];
    const state = { most: 0 };
    return {
        events,
        logs,
        state,
        options: (operation: Operation, parallel = 2) => ({
            operation,
            parallel,
            now: () => clock,
            log: (line: string) => void logs.push(line),
            deployed: async (stack: string) => deployed.includes(stack),
            run: async (stack: string, op: Operation, why?: string): Promise<StackOutcome> => {
                running++;
                state.most = Math.max(state.most, running);
                events.push(`start ${stack}${why ? " (again)" : ""}`);
                await new Promise((resolve) => setImmediate(resolve));
                clock += 1;
                running--;
                events.push(`end ${stack}`);
                assert.equal(op, operation);
                return { ok: true, changes: 3, peersChanged: false, ...fakes[stack]?.outcome };
            },
        }),
    };
}

const brief = (records: readonly StackRunRecord[]) => records.map((record) => `${record.stack} ${record.pass === 2 ? "again " : ""}${record.result}${record.note ? `: ${record.note}` : ""}`);

describe("running a set of stacks", () => {
    it("up: the platform, then stacks as soon as the stacks they need succeeded, at most --parallel at once", async () => {
        const fake = fakeRuns();
        const records = await runStackSet(plan(), fake.options("up", 2));
        // ruoyi starts as soon as bookinfo, the stack it calls, is done (shop still runs).
        assert.deepEqual(fake.events, ["start fleet", "end fleet", "start fleet-bookinfo", "start fleet-shop", "end fleet-bookinfo", "start fleet-ruoyi", "end fleet-shop", "end fleet-ruoyi"]);
        assert.equal(fake.state.most, 2);
        assert.deepEqual(brief(records), ["fleet ok", "fleet-bookinfo ok", "fleet-shop ok", "fleet-ruoyi ok"]);
        assert.equal(exitCodeOfSet(records), 0);
    });

    it("--parallel 1 runs one stack at a time, in the planned order", async () => {
        const fake = fakeRuns();
        await runStackSet(plan(), fake.options("up", 1));
        assert.equal(fake.state.most, 1);
        assert.deepEqual(fake.events.filter((event) => event.startsWith("start")), ["start fleet", "start fleet-bookinfo", "start fleet-shop", "start fleet-ruoyi"]);
    });

    it("a failed stack: the stacks that need it are not started, the others run, the exit code is 1", async () => {
        const fake = fakeRuns({ "fleet-bookinfo": { outcome: { ok: false } } });
        const records = await runStackSet(plan(), fake.options("up"));
        assert.deepEqual(brief(records), ["fleet ok", "fleet-bookinfo failed", "fleet-shop ok", "fleet-ruoyi skipped: it needs fleet-bookinfo, which was not deployed"]);
        assert.deepEqual(fake.logs, ["fleet-ruoyi: not started: it needs fleet-bookinfo, which was not deployed"]);
        assert.equal(exitCodeOfSet(records), 1);
        const platformDown = await runStackSet(plan(), fakeRuns({ fleet: { outcome: { ok: false } } }).options("up"));
        assert.deepEqual(brief(platformDown), [
            "fleet failed",
            "fleet-bookinfo skipped: it needs fleet, which was not deployed",
            "fleet-shop skipped: it needs fleet, which was not deployed",
            "fleet-ruoyi skipped: it needs fleet, fleet-bookinfo, which were not deployed",
        ]);
    });

    it("destroy: in exact reverse; a stack is destroyed only once every stack needing it is gone", async () => {
        const fake = fakeRuns();
        const records = await runStackSet(plan(), fake.options("destroy", 1));
        assert.deepEqual(fake.events.filter((event) => event.startsWith("start")), ["start fleet-ruoyi", "start fleet-shop", "start fleet-bookinfo", "start fleet"]);
        assert.deepEqual(brief(records), ["fleet-ruoyi ok", "fleet-shop ok", "fleet-bookinfo ok", "fleet ok"]);
        const failed = await runStackSet(plan(), fakeRuns({ "fleet-ruoyi": { outcome: { ok: false } } }).options("destroy"));
        assert.deepEqual(brief(failed), [
            "fleet-ruoyi failed",
            "fleet-shop ok",
            "fleet-bookinfo skipped: fleet-ruoyi, which needs it, was not destroyed",
            "fleet skipped: fleet-bookinfo, fleet-ruoyi, which need it, were not destroyed",
        ]);
    });

    it("up of an app stack whose platform (or callee) has no deployment stops before anything runs, saying what to run", async () => {
        const fake = fakeRuns({}, ["fleet-bookinfo"]);
        await assert.rejects(runStackSet(plan("fleet-ruoyi"), fake.options("up")), {
            name: "UserError",
            message: "stack fleet-ruoyi reads the outputs of fleet (its platform), which has no deployment; run `npm run up -- --stack fleet` first",
        });
        await assert.rejects(runStackSet(plan("fleet-ruoyi"), fakeRuns({}, []).options("up")), {
            message: "stack fleet-ruoyi reads the outputs of fleet (its platform) and fleet-bookinfo (its apps call apps it deploys), which have no deployment; run `npm run up -- --stack fleet` and `npm run up -- --stack fleet-bookinfo` first",
        });
        assert.deepEqual(fake.events, []);
        // Deployed: it runs (the control).
        assert.deepEqual(brief(await runStackSet(plan("fleet-ruoyi"), fakeRuns({}, ["fleet", "fleet-bookinfo"]).options("up"))), ["fleet-ruoyi ok"]);
    });

    it("preview of a set whose platform was never deployed: the platform is previewed, its app stacks are skipped saying what to run (exit 0)", async () => {
        const fake = fakeRuns({}, []);
        const records = await runStackSet(plan(), fake.options("preview"));
        const skipped = "skipped: stack fleet-bookinfo reads the outputs of fleet (its platform), which has no deployment; run `npm run up -- --stack fleet` first";
        assert.equal(brief(records)[0], "fleet ok");
        assert.equal(brief(records)[1], `fleet-bookinfo ${skipped}`);
        assert.equal(records.filter((record) => record.result === "skipped").length, 3);
        assert.deepEqual(fake.events, ["start fleet", "end fleet"]);
        assert.equal(exitCodeOfSet(records), 0);
    });

    describe("the second pass of up", () => {
        it("a stack that read a peer's peers before they changed runs again, once, saying why", async () => {
            const fake = fakeRuns({ "fleet-ruoyi": { outcome: { peersChanged: true } } });
            const records = await runStackSet(plan(), fake.options("up"));
            const why = "it read the peers of fleet-ruoyi before that stack's apps changed, so it runs again to admit exactly the callers deployed now";
            assert.deepEqual(brief(records), ["fleet ok", "fleet-bookinfo ok", "fleet-shop ok", "fleet-ruoyi ok", `fleet-bookinfo again ok: ${why}`]);
            assert.deepEqual(fake.logs, [`fleet-bookinfo: runs again: ${why}`]);
            assert.equal(fake.events.at(-2), "start fleet-bookinfo (again)");
        });

        it("no second pass when nothing changed, nor for a stack that ran after the change (negative controls)", async () => {
            assert.equal((await runStackSet(plan(), fakeRuns().options("up"))).length, 4);
            // bookinfo's peers changed, but ruoyi started after bookinfo ended: it read the new ones.
            const fake = fakeRuns({ "fleet-bookinfo": { outcome: { peersChanged: true } } });
            assert.equal((await runStackSet(plan(), fake.options("up"))).length, 4);
            // Mutual peers side by side: each read the other's old peers while it changed.
            const mutual = planStackSet("fleet", ENTRIES, (stack) => (stack === "fleet-ruoyi" ? [{ app: "ruoyi", source: "r", calls: [] }] : APPS[stack]!));
            const both = await runStackSet(mutual, fakeRuns({ "fleet-ruoyi": { outcome: { peersChanged: true } }, "fleet-bookinfo": { outcome: { peersChanged: true } } }).options("up", 4));
            assert.deepEqual(brief(both).filter((line) => line.includes("again")).map((line) => line.split(":")[0]), ["fleet-bookinfo again ok", "fleet-ruoyi again ok"]);
        });

        it("no second pass for preview or destroy", async () => {
            const fake = fakeRuns({ "fleet-ruoyi": { outcome: { peersChanged: true } } });
            assert.equal((await runStackSet(plan(), fake.options("preview"))).length, 4);
        });
    });

    it("the summary: stack, operation, result, changes, seconds, and why a stack was skipped", () => {
        const records: StackRunRecord[] = [
            { stack: "fleet", operation: "up", pass: 1, result: "ok", changes: 12, seconds: 8.04 },
            { stack: "fleet-ruoyi", operation: "up", pass: 1, result: "failed", seconds: 3.5 },
            { stack: "fleet-shop", operation: "up", pass: 1, result: "skipped", note: "it needs fleet-ruoyi, which was not deployed" },
            { stack: "fleet", operation: "up", pass: 2, result: "ok", changes: 0, seconds: 2, note: "it read the peers..." },
        ];
        assert.equal(
            summaryTable(records),
            [
                "stack        operation   result   changes  seconds",
                "fleet        up          ok       12       8.0",
                "fleet-ruoyi  up          failed   -        3.5",
                "fleet-shop   up          skipped  -        -        it needs fleet-ruoyi, which was not deployed",
                "fleet        up (again)  ok       0        2.0",
            ].join("\n"),
        );
    });

    it("changes count every step but same, read and refresh", () => {
        assert.equal(changesOf({ same: 20, create: 2, update: 1, replace: 1, delete: 3, read: 4, refresh: 5 }), 7);
        assert.equal(changesOf(undefined), 0);
    });

    it("whether peers changed, from the root stack's outputs event", () => {
        const outputs = (old: unknown, next: unknown) =>
            [{ sequence: 1, timestamp: 0, resOutputsEvent: { metadata: { op: "same", urn: "u", type: "pulumi:pulumi:Stack", provider: "", old: { outputs: { peers: old } }, new: { outputs: { peers: next } } } } }] as unknown as EngineEvent[];
        assert.equal(peersChangedIn(outputs({ ruoyi: 1 }, { ruoyi: 1 })), false);
        assert.equal(peersChangedIn(outputs({ ruoyi: 1 }, { ruoyi: 2 })), true);
        assert.equal(peersChangedIn(outputs(undefined, { ruoyi: 1 })), true);
        assert.equal(peersChangedIn([]), undefined);
    });

    it("output lines behind the stack's name, a line split across chunks kept whole", () => {
        const written: string[] = [];
        const prefixer = linePrefixer("fleet | ", (text) => written.push(text));
        prefixer.push("Updating (fl");
        prefixer.push("eet):\n + created\nlast");
        prefixer.flush();
        assert.deepEqual(written, ["fleet | Updating (fleet):\n", "fleet |  + created\n", "fleet | last\n"]);
    });
});

describe("the command line of npm run up|preview|destroy and npm start", () => {
    it("defaults: the dev stack's set, as many at once as the machine has CPUs, the policy pack on", () => {
        assert.deepEqual(parseStackCommandLine(["up"]), { command: "up", stack: "dev", only: false, parallel: DEFAULT_PARALLEL, policy: true });
        assert.ok(DEFAULT_PARALLEL >= 1);
    });

    it("--stack, --only, --parallel and --no-policy", () => {
        assert.deepEqual(parseStackCommandLine(["destroy", "--stack", "fleet", "--only", "--parallel", "3", "--no-policy"]), { command: "destroy", stack: "fleet", only: true, parallel: 3, policy: false });
        assert.equal(parseStackCommandLine(["start", "--parallel=1"]).parallel, 1);
    });

    it("a bad --parallel, an unknown command or option is a usage error with one message", () => {
        const failure = (argv: string[]) => {
            try {
                parseStackCommandLine(argv);
            } catch (error) {
                assert.ok(error instanceof UsageError);
                return error.message;
            }
            assert.fail("expected a usage error");
        };
        assert.equal(failure(["up", "--parallel", "0"]), '--parallel expects a whole number from 1 to 9999, given "0"');
        assert.equal(failure(["up", "--parallel", "two"]), '--parallel expects a whole number from 1 to 9999, given "two"');
        assert.equal(failure(["up", "--parallel", "-1"]), "Option '--parallel' argument is ambiguous.");
        assert.equal(failure(["deploy"]), 'unknown command "deploy"; use one of start, up, preview, destroy, outputs');
        assert.equal(failure([]), "no command given");
        assert.equal(failure(["up", "--parralel", "2"]), "Unknown option '--parralel'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--parralel\"");
    });
});
