import assert from "node:assert/strict";
import * as fs from "node:fs";
import { CONFIGURATION_DOC, configurationReference } from "../cli/docs";

/** The docs speak for the project: generated parts are current, and every link resolves inside the repository. */
describe("docs", function () {
    it("docs/configuration.md is what `npm run docs` generates from the schemas today", function () {
        assert.equal(fs.readFileSync(CONFIGURATION_DOC, "utf8"), configurationReference(), "docs/configuration.md is stale: run `npm run docs` and commit it");
    });

    it("every stack key and app spec field has a description", function () {
        const undocumented = configurationReference()
            .split("\n")
            .filter((line) => line.startsWith("| `"))
            .filter((line) => line.trimEnd().endsWith("|  |"))
            .map((line) => line.split("|")[1]!.trim());
        assert.deepEqual(undocumented, []);
    });
});
