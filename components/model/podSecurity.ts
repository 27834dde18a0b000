import type { Problem } from "./problems";
import { BASELINE_CAPABILITIES, POD_SECURITY_LEVELS, RESTRICTED_CAPABILITIES, type ComponentSpec, type PodSecurityLevel } from "./spec";
import { given } from "./userText";

/**
 * The Pod Security Standards side of a component: which level its pods need, and the overrides
 * that would break the restricted defaults without an exemption. The API server's Pod Security
 * admission enforces the level on the namespace (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
 */

/** A level and why it is needed, for messages and the namespace's annotation. */
export interface PodSecurityNeed {
    level: PodSecurityLevel;
    /** Who needs it and why, e.g. `component "mysql": the official mysql entrypoint starts as root`. */
    reason: string;
}

/** The laxer of two levels. */
export function laxer(a: PodSecurityLevel, b: PodSecurityLevel): PodSecurityLevel {
    return POD_SECURITY_LEVELS.indexOf(a) >= POD_SECURITY_LEVELS.indexOf(b) ? a : b;
}

/** The laxest need of a list (restricted when the list is empty), keeping the first reason for that level. */
export function laxestNeed(needs: readonly PodSecurityNeed[]): PodSecurityNeed {
    return needs.reduce<PodSecurityNeed>((worst, need) => (laxer(worst.level, need.level) === worst.level ? worst : need), { level: "restricted", reason: "every pod meets the restricted standard" });
}

/**
 * What one component's own pod spec needs: restricted; baseline with a securityExemption (it may
 * run as root); privileged when it adds a capability outside baseline's set.
 */
export function componentPodSecurity(component: ComponentSpec): PodSecurityNeed {
    const added = component.securityContext?.capabilities?.add ?? [];
    const beyondBaseline = added.filter((capability) => !BASELINE_CAPABILITIES.includes(capability));
    if (beyondBaseline.length > 0) return { level: "privileged", reason: `component "${component.name}" adds ${beyondBaseline.join(", ")}` };
    if (component.securityExemption !== undefined) return { level: "baseline", reason: `component "${component.name}" is exempt: ${component.securityExemption}` };
    return { level: "restricted", reason: `component "${component.name}" runs restricted` };
}

/** Overrides that leave the restricted standard need the component's securityExemption, which says why. */
export function checkSecurityContext(component: ComponentSpec, at: string): Problem[] {
    const context = component.securityContext;
    if (context === undefined || component.securityExemption !== undefined) return [];
    const problems: Problem[] = [];
    if (context.runAsUser === 0) {
        problems.push({ key: `${at}.securityContext.runAsUser`, message: "0 (root) needs securityExemption: the restricted standard requires runAsNonRoot; say in securityExemption why the image must run as root" });
    }
    (context.capabilities?.add ?? []).forEach((capability, index) => {
        if (RESTRICTED_CAPABILITIES.includes(capability)) return;
        problems.push({
            key: `${at}.securityContext.capabilities.add[${index}]`,
            message: `${given(capability)} needs securityExemption: the restricted standard lets a container add only ${RESTRICTED_CAPABILITIES.join(", ")}; say in securityExemption why the image needs it`,
        });
    });
    return problems;
}

/** Namespace labels of Pod Security admission: the level enforced, and the levels warned about and audited. */
export function podSecurityLabels(levels: { enforce: PodSecurityLevel; warn: PodSecurityLevel; audit: PodSecurityLevel }): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": levels.enforce,
        "pod-security.kubernetes.io/warn": levels.warn,
        "pod-security.kubernetes.io/audit": levels.audit,
    };
}
