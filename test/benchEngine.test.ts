import * as assert from "node:assert/strict";
import { BenchUsageError, fleetSample, markdownReport, median, medianSample, parseBenchOptions, ratios, scaling, splitFleet, type FleetSample, type SizeResult, type StackSample } from "../bench/engineReport";

/** The pure half of `npm run bench:engine`: options, the split into stacks, medians, ratios, tables. The bench itself is never run here. */

function usageError(argv: string[], message: string): void {
    assert.throws(() => parseBenchOptions(argv), (error: unknown) => error instanceof BenchUsageError && error.message === message);
}

describe("npm run bench:engine: options", function () {
    it("defaults to 10, 100 and 1,000 components, one run, checkpoints as the embedded default skips them, stacks of 100", function () {
        assert.deepEqual(parseBenchOptions([]), { sizes: [10, 100, 1000], runs: 1, checkpoints: ["off"], stackSize: 100, operations: ["up", "preview", "destroy"] });
    });

    it("reads every option", function () {
        assert.deepEqual(parseBenchOptions(["--sizes", "100, 1000", "--runs", "3", "--checkpoints", "both", "--stack-size", "250", "--operations", "destroy,up"]), {
            sizes: [100, 1000],
            runs: 3,
            checkpoints: ["off", "on"],
            stackSize: 250,
            operations: ["up", "destroy"],
        });
        assert.deepEqual(parseBenchOptions(["--checkpoints", "on"]).checkpoints, ["on"]);
    });

    it("refuses what it cannot run, naming the option, the value and what is allowed", function () {
        usageError(["--sizes", "10,abc"], '--sizes: expected a whole number from 1 to 10000, given "abc"');
        usageError(["--sizes", "0"], '--sizes: expected a whole number from 1 to 10000, given "0"');
        usageError(["--sizes", "100,100"], '--sizes: each size once, given "100,100"');
        usageError(["--runs", "1.5"], '--runs: expected a whole number from 1 to 100, given "1.5"');
        usageError(["--stack-size=-5"], '--stack-size: expected a whole number from 1 to 10000, given "-5"');
        usageError(["--checkpoints", "sometimes"], '--checkpoints: expected off, on or both, given "sometimes"');
        usageError(["--size", "10"], "Unknown option '--size'");
        usageError(["--runs"], "Option '--runs <value>' argument missing");
        usageError(["--operations", "preview"], '--operations: expected up and any of preview, destroy, given "preview"');
        usageError(["--operations", "up,refresh"], '--operations: expected up and any of preview, destroy, given "up,refresh"');
    });
});

describe("npm run bench:engine: a fleet split into stacks", function () {
    it("keeps a fleet up to the stack size in one stack", function () {
        assert.deepEqual(splitFleet(10, 100, 10), [{ index: 0, components: 10, firstApp: 0 }]);
        assert.deepEqual(splitFleet(100, 100, 10), [{ index: 0, components: 100, firstApp: 0 }]);
    });

    it("splits a larger one into even stacks of whole apps, numbering apps on across stacks", function () {
        const parts = splitFleet(1000, 100, 10);
        assert.equal(parts.length, 10);
        assert.deepEqual(parts.map((part) => part.components), Array(10).fill(100));
        assert.deepEqual(parts.map((part) => part.firstApp), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert.deepEqual(splitFleet(250, 100, 10), [
            { index: 0, components: 90, firstApp: 0 },
            { index: 1, components: 80, firstApp: 9 },
            { index: 2, components: 80, firstApp: 17 },
        ]);
    });

    it("gives a last, short app to the last stack", function () {
        assert.deepEqual(splitFleet(205, 100, 10), [
            { index: 0, components: 70, firstApp: 0 },
            { index: 1, components: 70, firstApp: 7 },
            { index: 2, components: 65, firstApp: 14 },
        ]);
        for (const [size, stackSize] of [[1000, 100], [205, 100], [37, 15], [999, 250]] as const) {
            const parts = splitFleet(size, stackSize, 10);
            assert.equal(parts.reduce((total, part) => total + part.components, 0), size, `${size} in stacks of ${stackSize}`);
            assert.ok(parts.every((part) => part.components <= Math.max(stackSize, 10)), `${size} in stacks of ${stackSize}`);
        }
    });
});

const stack = (up: number, preview: number, destroy: number, programMiB: number, engineMiB: number): StackSample => ({ upMs: up, previewMs: preview, destroyMs: destroy, resources: 50, objects: 40, programMiB, engineMiB });
const fleet = (upMs: number, previewMs: number, destroyMs: number, stacks = 1): FleetSample => ({ stacks, upMs, previewMs, destroyMs, resources: 50 * stacks, objects: 40 * stacks, programMiB: 200, engineMiB: 300 });

describe("npm run bench:engine: figures", function () {
    it("adds a fleet's stacks' times and counts, and takes the peak of their memory", function () {
        assert.deepEqual(fleetSample([stack(1000, 200, 300, 180, 250), stack(3000, 400, 500, 220, 240)]), {
            stacks: 2,
            upMs: 4000,
            previewMs: 600,
            destroyMs: 800,
            resources: 100,
            objects: 80,
            programMiB: 220,
            engineMiB: 250,
        });
    });

    it("takes medians field by field", function () {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.throws(() => median([]), /median of no values/);
        assert.deepEqual(medianSample([fleet(1000, 100, 10), fleet(3000, 300, 30), fleet(2000, 900, 20)]), fleet(2000, 300, 20));
    });

    const results: SizeResult[] = [
        { size: 100, checkpoints: "off", runs: 1, program: fleet(12_000, 5000, 8000), flat: fleet(10_000, 4000, 8000) },
        { size: 1000, checkpoints: "off", runs: 1, program: fleet(144_000, 60_000, 80_000, 10), flat: fleet(110_000, 40_000, 80_000, 10) },
    ];

    it("divides the program by the flat baseline per operation", function () {
        assert.deepEqual(ratios(results[0]!).programOverFlat, { up: 1.2, preview: 1.25, destroy: 1 });
    });

    it("compares time per component with the next smaller size (1 is linear)", function () {
        assert.deepEqual(
            scaling(results).map((entry) => [entry.variant, entry.from, entry.to, entry.perComponent.up, entry.perComponent.preview, entry.perComponent.destroy]),
            [
                ["program", 100, 1000, 1.2, 1.2, 1],
                ["flat", 100, 1000, 1.1, 1, 1],
            ],
        );
        assert.deepEqual(scaling([results[0]!]), [], "one size has nothing to compare with");
        assert.deepEqual(scaling([results[0]!, { ...results[1]!, checkpoints: "on" }]), [], "only sizes measured with the same checkpoints are compared");
    });

    it("shows an operation that was not measured as a dash", function () {
        const upOnly: SizeResult = { size: 100, checkpoints: "on", runs: 1, program: { ...fleet(12_000, NaN, NaN) }, flat: { ...fleet(10_000, NaN, NaN) } };
        const lines = markdownReport([upOnly]).split("\n");
        assert.equal(lines[2], "| 100 | 1 | written | program | 50 (40) | 12.0 | — | — | 3.3 | 120 | — | — | 300 | 200 |");
        assert.equal(lines[7], "| 100 | written | 1.20 | — | — |");
    });

    it("prints the three tables", function () {
        assert.equal(
            markdownReport(results),
            [
                "| components | stacks | checkpoints | variant | resources (k8s objects) | up s | preview s | destroy s | up objects/s | up ms/component | preview ms/component | destroy ms/component | engine peak MiB | program peak MiB |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
                "| 100 | 1 | skipped | program | 50 (40) | 12.0 | 5.0 | 8.0 | 3.3 | 120 | 50 | 80 | 300 | 200 |",
                "| 100 | 1 | skipped | flat | 50 (40) | 10.0 | 4.0 | 8.0 | 4.0 | 100 | 40 | 80 | 300 | 200 |",
                "| 1000 | 10 | skipped | program | 500 (400) | 144.0 | 60.0 | 80.0 | 2.8 | 144 | 60 | 80 | 300 | 200 |",
                "| 1000 | 10 | skipped | flat | 500 (400) | 110.0 | 40.0 | 80.0 | 3.6 | 110 | 40 | 80 | 300 | 200 |",
                "",
                "| components | checkpoints | up program/flat | preview program/flat | destroy program/flat |",
                "| --- | --- | --- | --- | --- |",
                "| 100 | skipped | 1.20 | 1.25 | 1.00 |",
                "| 1000 | skipped | 1.31 | 1.50 | 1.00 |",
                "",
                "| checkpoints | variant | sizes | up per component | preview per component | destroy per component |",
                "| --- | --- | --- | --- | --- | --- |",
                "| skipped | program | 1000 vs 100 | 1.20 | 1.20 | 1.00 |",
                "| skipped | flat | 1000 vs 100 | 1.10 | 1.00 | 1.00 |",
            ].join("\n"),
        );
    });
});
