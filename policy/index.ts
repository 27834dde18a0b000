import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

/**
 * pluggable-mesh's policy pack: mesh governance for any Pulumi program that uses
 * `@pulumi/kubernetes`. Run it with `pulumi preview --policy-pack <this folder>` (and
 * `--policy-pack-config <file>` to choose enforcement levels per stack); see docs/policy.md.
 */
new PolicyPack("pluggable-mesh", { policies: POLICIES });
