import type { PolicyConfigSchema, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { RESOURCE_RULES, STACK_RULES, withDefaults, type ConfigProperty, type ResourceRule, type StackRule } from "./rules";

/**
 * The rules wrapped as CrossGuard policies: each takes its config from the stack's policy config
 * (`--policy-pack-config`, the Automation API's `policyPackConfigs`) over its schema's defaults.
 * Only types come from `@pulumi/policy`, so tests call these without starting a policy server.
 */

function configSchema(properties: Record<string, ConfigProperty>): PolicyConfigSchema | undefined {
    if (Object.keys(properties).length === 0) return undefined;
    return { properties: Object.fromEntries(Object.entries(properties).map(([key, { description: _description, ...schema }]) => [key, schema])) as PolicyConfigSchema["properties"] };
}

function common(rule: ResourceRule<any> | StackRule<any>) {
    const schema = configSchema(rule.config);
    return {
        name: rule.name,
        description: rule.description,
        enforcementLevel: rule.enforcementLevel,
        remediationSteps: rule.remediation,
        ...(schema ? { configSchema: schema } : {}),
    };
}

export function resourcePolicy(rule: ResourceRule<any>): ResourceValidationPolicy {
    return {
        ...common(rule),
        validateResource: (args, reportViolation) => {
            for (const message of rule.checkResource({ type: args.type, props: args.props, urn: args.urn }, withDefaults(rule, args.getConfig()))) reportViolation(message);
        },
    };
}

export function stackPolicy(rule: StackRule<any>): StackValidationPolicy {
    return {
        ...common(rule),
        validateStack: (args, reportViolation) => {
            const resources = args.resources.map(({ type, props, urn }) => ({ type, props, urn }));
            for (const violation of rule.checkStack(resources, withDefaults(rule, args.getConfig()))) reportViolation(violation.message, violation.urn);
        },
    };
}

export const POLICIES = [...RESOURCE_RULES.map(resourcePolicy), ...STACK_RULES.map(stackPolicy)];
