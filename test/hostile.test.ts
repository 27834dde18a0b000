import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../components/resources/errors";
import { describeFailure } from "../cli/command";
import { attempt, CASES, expectedMessage, FAKE_TOKEN, SpecFolder } from "./hostileCases";

/**
 * Hostile and mistaken input (issue #11): every case ends in one ConfigError (a pulumi.RunError,
 * printed without a stack trace) with the exact problems, no secret and no file content in the
 * message, and nothing registered.
 */

describe("hostile and mistaken input", () => {
    let files: SpecFolder;
    before(() => {
        files = new SpecFolder("hostile-");
    });
    after(() => files.remove());

    for (const klass of [1, 2, 3, 4, 5, 6, 8] as const) {
        describe(`class ${klass}`, () => {
            for (const hostile of CASES.filter((c) => c.class === klass)) {
                it(`refuses ${hostile.name}, registering nothing`, async () => {
                    const { error, registered } = await attempt(hostile.config(files));
                    if (process.env.HOSTILE_DUMP) console.log(JSON.stringify((error as Error)?.message));
                    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
                    assert.ok(pulumi.RunError.isInstance(error), "a RunError: the CLI prints it without a stack trace");
                    assert.equal(error.message, expectedMessage(hostile.problems(files)));
                    assert.doesNotMatch(error.message, /\n\s+at |node_modules|\.ts:\d+/, "no stack frame in the message");
                    for (const text of hostile.forbidden ?? [FAKE_TOKEN]) assert.ok(!error.message.includes(text), `the message must not contain ${JSON.stringify(text)}`);
                    assert.equal(registered, 0);
                    // What render, validate and pr-preview print for it, and their exit code.
                    assert.deepEqual(describeFailure(error, "usage", false), { text: `error: ${error.message}`, exitCode: 1 });
                });
            }
        });
    }

    it("has at least 60 cases, in every class it owns", () => {
        assert.ok(CASES.length >= 60, `${CASES.length} cases`);
        for (const klass of [1, 2, 3, 4, 5, 6, 8]) assert.ok(CASES.some((c) => c.class === klass), `class ${klass} has cases`);
    });
});
