import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { openMockStack, runWithMocks, type MockStack } from "../mocks/mockEngine";

/**
 * The mock engine records what the real engine would: URNs with the whole parent chain, parents,
 * dependencies as the SDK sends them, options, secrets (unwrapped, flagged). Small resource types
 * of our own keep these cases independent of the program.
 */

class Thing extends pulumi.CustomResource {
    declare readonly value: pulumi.Output<string>;
    constructor(name: string, props: { value?: pulumi.Input<string>; nested?: Record<string, pulumi.Input<string>> }, opts?: pulumi.CustomResourceOptions) {
        super("test:index:Thing", name, { value: undefined, ...props }, opts);
    }
}

class Group extends pulumi.ComponentResource {
    constructor(type: string, name: string, build: (self: Group) => void, opts?: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        build(this);
        this.registerOutputs({});
    }
}

const STACK = "urn:pulumi:unit::pluggable-mesh::pulumi:pulumi:Stack::pluggable-mesh-unit";

describe("the mock engine", () => {
    describe("a program with nested components", () => {
        let mocks: MockStack;
        let outer: Group;
        let leaf: Thing;
        before(async () => {
            mocks = await openMockStack({ stack: "unit" });
            outer = new Group("test:index:Outer", "outer", (self) => {
                new Group(
                    "test:index:Inner",
                    "inner",
                    (inner) => {
                        leaf = new Thing("leaf", { value: "a" }, { parent: inner, ignoreChanges: ["value"] });
                    },
                    { parent: self, protect: true },
                );
                new Thing("sibling", { value: "b" }, { parent: self, retainOnDelete: true });
            });
            new Thing("after-outer", { value: "c" }, { dependsOn: [outer] });
            new Thing("reads-leaf", { nested: { copy: leaf.value } });
            new Thing("secretive", { value: pulumi.secret("hunter2"), nested: { plain: "x", hidden: pulumi.secret("y") } });
            new Thing("transformed", {}, { transforms: [() => undefined] });
            await mocks.settle();
        });

        it("forms URNs from the parent's whole type chain, the root stack adding nothing (the engine's NewURN)", () => {
            const parentOf = (urn: string) => mocks.resources.find((resource) => resource.urn === urn)?.parent;
            const expected: [string, string][] = [
                ["urn:pulumi:unit::pluggable-mesh::test:index:Outer::outer", STACK],
                ["urn:pulumi:unit::pluggable-mesh::test:index:Outer$test:index:Inner::inner", "urn:pulumi:unit::pluggable-mesh::test:index:Outer::outer"],
                ["urn:pulumi:unit::pluggable-mesh::test:index:Outer$test:index:Inner$test:index:Thing::leaf", "urn:pulumi:unit::pluggable-mesh::test:index:Outer$test:index:Inner::inner"],
                ["urn:pulumi:unit::pluggable-mesh::test:index:Outer$test:index:Thing::sibling", "urn:pulumi:unit::pluggable-mesh::test:index:Outer::outer"],
                ["urn:pulumi:unit::pluggable-mesh::test:index:Thing::after-outer", STACK],
                ["urn:pulumi:unit::pluggable-mesh::test:index:Thing::reads-leaf", STACK],
                ["urn:pulumi:unit::pluggable-mesh::test:index:Thing::secretive", STACK],
                ["urn:pulumi:unit::pluggable-mesh::test:index:Thing::transformed", STACK],
            ];
            assert.deepEqual(expected.map(([urn]) => [urn, parentOf(urn)]), expected);
            assert.equal(mocks.resources.length, 8);
            assert.equal(mocks.urnOf(leaf), "urn:pulumi:unit::pluggable-mesh::test:index:Outer$test:index:Inner$test:index:Thing::leaf");
        });

        it("records dependsOn on a component as the custom resources it contains, and outputs used as inputs", () => {
            assert.deepEqual(mocks.find("test:index:Thing", "after-outer").dependencies, [mocks.urnOf(leaf), mocks.find("test:index:Thing", "sibling").urn]);
            assert.deepEqual(mocks.find("test:index:Thing", "reads-leaf").dependencies, [mocks.urnOf(leaf)]);
            assert.deepEqual(mocks.find("test:index:Thing", "reads-leaf").inputs, { nested: { copy: "a" } });
            assert.deepEqual(mocks.find("test:index:Thing", "sibling").dependencies, []);
        });

        it("records options, protect inherited from the parent", () => {
            const leafRecord = mocks.find("test:index:Thing", "leaf");
            assert.deepEqual([leafRecord.ignoreChanges, leafRecord.protect, leafRecord.retainOnDelete], [["value"], true, false]);
            const sibling = mocks.find("test:index:Thing", "sibling");
            assert.deepEqual([sibling.ignoreChanges, sibling.protect, sibling.retainOnDelete], [[], false, true]);
        });

        it("unwraps secrets and says where they were", () => {
            const secretive = mocks.find("test:index:Thing", "secretive");
            assert.deepEqual(secretive.inputs, { value: "hunter2", nested: { plain: "x", hidden: "y" } });
            assert.deepEqual(secretive.secretInputs, ["nested", "value"]);
            // The mock monitor hands over an object holding a secret as a secret as a whole.
            assert.deepEqual(secretive.secretPaths, [["nested"], ["value"]]);
            assert.deepEqual(mocks.find("test:index:Thing", "leaf").secretPaths, []);
        });

        it("counts transforms and takes them off, so the SDK registers the resource under mocks", () => {
            assert.equal(mocks.find("test:index:Thing", "transformed").transforms, 1);
            assert.equal(mocks.find("test:index:Thing", "leaf").transforms, 0);
        });
    });

    it("maps no stack trace while the program runs, yet an error the program throws keeps its source-mapped stack", async () => {
        // tsx (this suite's loader) turns source maps on: the control for the switch below.
        assert.equal(process.sourceMapsEnabled, true);
        let during: boolean | undefined;
        let thrown: Error | undefined;
        let readDuring = "";
        await assert.rejects(
            runWithMocks(
                () => {
                    during = process.sourceMapsEnabled;
                    readDuring = new Error("read at once").stack!.split("\n")[1]!;
                    thrown = new Error("thrown by the program");
                    throw thrown;
                },
                { stack: "unit" },
            ),
            { message: "thrown by the program" },
        );
        assert.equal(during, false);
        assert.equal(process.sourceMapsEnabled, true);
        const line = fs.readFileSync(__filename, "utf8").split("\n").findIndex((text) => text.includes('thrown = new Error("thrown by the program")')) + 1;
        assert.match(thrown!.stack!.split("\n")[1]!, new RegExp(`mockEngine\\.test\\.ts:${line}:`));
        // A stack read during the run is not mapped (the cost avoided): it does not point at its line.
        assert.doesNotMatch(readDuring, new RegExp(`mockEngine\\.test\\.ts:${line - 1}:`));
    });

    it("refuses a duplicate URN as the engine does", async () => {
        await assert.rejects(
            runWithMocks(() => [new Thing("twice", {}), new Thing("twice", {})], { stack: "unit" }),
            { message: "Duplicate resource URN 'urn:pulumi:unit::pluggable-mesh::test:index:Thing::twice'; try giving it a unique name" },
        );
    });

    it("refuses to guess whose inputs are whose when one type and name is registered under parents of different types at once", async () => {
        await assert.rejects(
            runWithMocks(
                () => {
                    new Group("test:index:Left", "group", (self) => new Thing("same", { value: "left" }, { parent: self }));
                    new Group("test:index:Right", "group", (self) => new Thing("same", { value: "right" }, { parent: self }));
                },
                { stack: "unit" },
            ),
            { message: "two test:index:Thing::same are registered at once under parents of different types; the mock engine cannot tell whose inputs are whose and refuses to guess" },
        );
    });
});
