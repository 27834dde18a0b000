import assert from "node:assert/strict";
import { ConfigError } from "../components/resources/errors";
import { attempt, expectedMessage } from "./hostileCases";
import { RUOYI_SECRETS, RUOYI_SPEC } from "./support/meshRuns";

/**
 * The fleet keys of a stack file (`platformStack`, `peerStacks`): their syntax, the keys an app
 * stack may not set, and references that cannot be meant. Each refusal is one exact message, and
 * nothing is registered (the references are not even read).
 */

const appStack = (extra: Record<string, string>): Record<string, string> => ({
    "pluggable-mesh:apps": JSON.stringify([{ spec: RUOYI_SPEC }]),
    ...RUOYI_SECRETS,
    ...extra,
});

const STACK_NAME_RULE = `use a stack of this project (letters, digits, '-', '_' and '.', at most 100 characters, e.g. "fleet") or a fully qualified "org/project/stack"`;

const CASES: { name: string; config: Record<string, string>; stack?: string; problems: string[] }[] = [
    {
        name: "a platformStack that is a path",
        config: appStack({ "pluggable-mesh:platformStack": "../../etc/passwd" }),
        problems: [`pluggable-mesh:platformStack: "../../etc/passwd" is not a stack name; ${STACK_NAME_RULE}`],
    },
    {
        name: "a platformStack of two parts",
        config: appStack({ "pluggable-mesh:platformStack": "acme/fleet" }),
        problems: [`pluggable-mesh:platformStack: "acme/fleet" is not a stack name; ${STACK_NAME_RULE}`],
    },
    {
        name: "a platformStack with a '..' part",
        config: appStack({ "pluggable-mesh:platformStack": "acme/../fleet" }),
        problems: [`pluggable-mesh:platformStack: "acme/../fleet" is not a stack name; ${STACK_NAME_RULE}`],
    },
    {
        name: "a very long platformStack (clipped in the message)",
        config: appStack({ "pluggable-mesh:platformStack": `fleet ${"x".repeat(300)}` }),
        problems: [`pluggable-mesh:platformStack: "fleet ${"x".repeat(54)}…" (306 characters) is not a stack name; ${STACK_NAME_RULE}`],
    },
    {
        name: "a platformStack that is not a string",
        config: appStack({ "pluggable-mesh:platformStack": '{"stack":"fleet"}' }),
        problems: ['pluggable-mesh:platformStack: expected string, given {"stack":"fleet"}'],
    },
    {
        name: "a peer stack with a space",
        config: appStack({ "pluggable-mesh:platformStack": "fleet", "pluggable-mesh:peerStacks": JSON.stringify(["fleet-bookinfo", "fleet bookinfo"]) }),
        problems: [`pluggable-mesh:peerStacks[1]: "fleet bookinfo" is not a stack name; ${STACK_NAME_RULE}`],
    },
    {
        name: "platform-owned keys on an app stack, one message each",
        config: appStack({
            "pluggable-mesh:platformStack": "fleet",
            "pluggable-mesh:istio": JSON.stringify({ controlPlane: "install" }),
            "pluggable-mesh:production": "true",
            "pluggable-mesh:kialiSigningKey": "0123456789abcdef",
        }),
        problems: [
            'pluggable-mesh:production: the platform stack "fleet" owns this key (this stack names it in pluggable-mesh:platformStack); set it on that stack and remove it here',
            'pluggable-mesh:istio: the platform stack "fleet" owns this key (this stack names it in pluggable-mesh:platformStack); set it on that stack and remove it here',
            'pluggable-mesh:kialiSigningKey: the platform stack "fleet" owns this key (this stack names it in pluggable-mesh:platformStack); set it on that stack and remove it here',
        ],
    },
    {
        name: "a platform-owned key with a bad value on an app stack (both said)",
        config: appStack({ "pluggable-mesh:platformStack": "acme/infra/fleet", "pluggable-mesh:networkPolicies": "egress" }),
        problems: [
            'pluggable-mesh:networkPolicies: the platform stack "acme/infra/fleet" owns this key (this stack names it in pluggable-mesh:platformStack); set it on that stack and remove it here',
            'pluggable-mesh:networkPolicies: "egress" is not a NetworkPolicy level; use one of ingress, ingress+egress, off',
        ],
    },
    {
        name: "a stack that is its own platform",
        stack: "fleet-ruoyi",
        config: appStack({ "pluggable-mesh:platformStack": "fleet-ruoyi" }),
        problems: ['pluggable-mesh:platformStack: "fleet-ruoyi" is this stack itself; name the stack that installs the platform'],
    },
    {
        name: "a stack that is its own peer, a peer named twice and the platform as a peer",
        stack: "fleet-ruoyi",
        config: appStack({ "pluggable-mesh:platformStack": "fleet", "pluggable-mesh:peerStacks": JSON.stringify(["fleet-ruoyi", "fleet-bookinfo", "fleet-bookinfo", "fleet"]) }),
        problems: [
            'pluggable-mesh:peerStacks[0]: "fleet-ruoyi" is this stack itself; name other app stacks',
            'pluggable-mesh:peerStacks[2]: "fleet-bookinfo" is named twice; name each stack once',
            'pluggable-mesh:peerStacks[3]: "fleet" is this stack\'s platformStack; name app stacks only',
        ],
    },
];

describe("fleet keys of a stack file", () => {
    for (const badCase of CASES) {
        it(`refuses ${badCase.name}, registering nothing`, async () => {
            const { error, registered } = await attempt(badCase.config, badCase.stack);
            assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
            assert.equal(error.message, expectedMessage(badCase.problems));
            assert.equal(registered, 0);
        });
    }

    it("accepts the same keys on a platform stack (negative control: the refusal is the platformStack's)", async () => {
        const { error, registered } = await attempt({ ...appStack({ "pluggable-mesh:networkPolicies": "ingress+egress", "pluggable-mesh:production": "false" }) });
        assert.equal(error, undefined);
        assert.ok(registered > 0);
    });
});
