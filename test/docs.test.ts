import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONFIGURATION_DOC, configurationReference } from "../cli/docs";
import { PROJECT_ROOT } from "../tools/tools";

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

    it("every relative link in README.md and docs/ resolves inside the repository", function () {
        const files = ["README.md", ...fs.readdirSync(path.join(PROJECT_ROOT, "docs")).filter((file) => file.endsWith(".md")).map((file) => `docs/${file}`)];
        assert.deepEqual(files.flatMap((file) => brokenLinks(file, fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8"))), []);
    });

    it("finds a dangling link, a link out of the repository and a path outside it (negative control)", function () {
        const text = "[a](docs/none.md) [b](../../etc/passwd) [ok](docs/modes.md) [web](https://example.com) see ../shared/x `[c](nowhere.md)`";
        assert.deepEqual(brokenLinks("README.md", text), ["README.md: docs/none.md", "README.md: ../../etc/passwd", "README.md: mentions ../shared"]);
    });
});

/** Links in a Markdown file that do not resolve to a file inside the repository, and mentions of folders outside it. */
function brokenLinks(file: string, markdown: string): string[] {
    const broken: string[] = [];
    // Code spans and blocks hold patterns and commands, not links.
    const text = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!.split("#")[0]!;
        if (target === "" || /^[a-z]+:/i.test(target)) continue;
        const resolved = path.resolve(PROJECT_ROOT, path.dirname(file), target);
        if (!resolved.startsWith(PROJECT_ROOT + path.sep) || !fs.existsSync(resolved)) broken.push(`${file}: ${match[1]}`);
    }
    // The project speaks for itself: nothing points at folders outside the repository.
    for (const outside of text.match(/\.\.\/shared\b|\/work\/[\w./-]+/g) ?? []) broken.push(`${file}: mentions ${outside}`);
    return broken;
}
