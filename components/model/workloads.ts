import type { Problem } from "./problems";
import { parseQuantity } from "./syntax";
import { given } from "./userText";
import type { ComponentSpec } from "./spec";
import { DEFAULT_CPU_UTILIZATION, type ComponentDefaultsSpec, type DisruptionBudgetSpec, type ProbeSpec, type ResourcesSpec } from "./workloadSpec";

/**
 * Workload rules that span fields (issue #13 §2): probes against the component's ports, an
 * autoscaler against the replica count and the container's requests, a disruption budget that
 * could never let a pod go. And the one place a component inherits its app's defaults.
 */

/** The replica count when the spec gives none and no autoscaler owns it. */
export const DEFAULT_REPLICAS = 1;

export const PROBE_FIELDS = ["readiness", "liveness", "startup"] as const;
export type ProbeField = (typeof PROBE_FIELDS)[number];

function mergeResources(own: ResourcesSpec | undefined, inherited: ResourcesSpec | undefined): ResourcesSpec | undefined {
    if (!inherited) return own;
    const merged: ResourcesSpec = {};
    for (const part of ["requests", "limits"] as const) {
        const values = { ...inherited[part], ...own?.[part] };
        if (Object.keys(values).length > 0) merged[part] = values;
    }
    return Object.keys(merged).length > 0 ? merged : undefined;
}

/** The component with its app's defaults filled in, value by value: what it sets itself always wins. */
export function withComponentDefaults(component: ComponentSpec, defaults: ComponentDefaultsSpec | undefined): ComponentSpec {
    if (!defaults) return component;
    const resources = mergeResources(component.resources, defaults.resources);
    const grace = component.terminationGracePeriodSeconds ?? defaults.terminationGracePeriodSeconds;
    return {
        ...component,
        ...(resources ? { resources } : {}),
        ...(grace !== undefined ? { terminationGracePeriodSeconds: grace } : {}),
    };
}

function checkProbe(component: ComponentSpec, field: ProbeField, probe: ProbeSpec, at: string): Problem[] {
    const key = `${at}.${field}`;
    const port = component.ports.find((candidate) => candidate.name === probe.port);
    if (!port) {
        const portNames = component.ports.map((candidate) => candidate.name);
        return [{ key: `${key}.port`, message: `${given(probe.port)} is not a port of component "${component.name}"; use one of ${portNames.join(", ") || "(no ports declared)"}` }];
    }
    const problems: Problem[] = [];
    if (probe.grpc && probe.path !== undefined) {
        problems.push({ key: `${key}.grpc`, message: `a probe is either HTTP (path) or gRPC (grpc), not both; remove one` });
    } else if (probe.grpc && port.protocol !== "grpc" && port.protocol !== "http2") {
        problems.push({ key: `${key}.grpc`, message: `port "${port.name}" is of protocol ${port.protocol}; a gRPC health probe needs a gRPC server, on a port of protocol grpc (or http2)` });
    }
    if (probe.headers && probe.path === undefined) {
        problems.push({ key: `${key}.headers`, message: `headers are sent with HTTP probes only; give a path too, or remove headers` });
    }
    return problems;
}

/** The fewest pods the component runs: every version's replicas, or the autoscalers' floors. */
function fewestPods(component: ComponentSpec): number {
    const workloads: { replicas?: number }[] = component.versions ?? [{}];
    if (component.autoscaling) return component.autoscaling.minReplicas * workloads.length;
    return workloads.reduce((sum, version) => sum + (version.replicas ?? component.replicas ?? DEFAULT_REPLICAS), 0);
}

/** Whether a disruption budget with this many pods could ever let one be evicted. */
function budgetBlocksEveryEviction(budget: DisruptionBudgetSpec, replicas: number): boolean {
    const { minAvailable, maxUnavailable } = budget;
    if (maxUnavailable !== undefined) return maxUnavailable === 0 || maxUnavailable === "0%";
    if (typeof minAvailable === "number") return minAvailable >= replicas;
    return minAvailable === "100%";
}

function checkDisruptionBudget(component: ComponentSpec, at: string): Problem[] {
    const budget = component.disruptionBudget;
    if (!budget) return [];
    const key = `${at}.disruptionBudget`;
    if ((budget.minAvailable === undefined) === (budget.maxUnavailable === undefined)) {
        return [{ key, message: "give exactly one of minAvailable or maxUnavailable (Kubernetes accepts one per budget)" }];
    }
    const fewest = fewestPods(component);
    if (budgetBlocksEveryEviction(budget, fewest)) {
        const field = budget.maxUnavailable !== undefined ? "maxUnavailable" : "minAvailable";
        return [
            {
                key: `${key}.${field}`,
                message: `${given(budget[field])} with ${fewest} replica${fewest === 1 ? "" : "s"}${component.autoscaling ? " (autoscaling.minReplicas)" : component.versions ? " (all versions)" : ""} never lets a pod be evicted, so node drains would wait forever; allow at least one pod to go (more replicas, a lower minAvailable or maxUnavailable ≥ 1)`,
            },
        ];
    }
    return [];
}

function checkAutoscaling(component: ComponentSpec, at: string): Problem[] {
    const autoscaling = component.autoscaling;
    if (!autoscaling) return [];
    const key = `${at}.autoscaling`;
    const problems: Problem[] = [];
    if (component.replicas !== undefined) {
        problems.push({
            key: `${at}.replicas`,
            message: `${component.replicas} is set while autoscaling owns the replica count (every up would reset what the autoscaler chose); remove replicas and use autoscaling.minReplicas`,
        });
    }
    component.versions?.forEach((version, index) => {
        if (version.replicas !== undefined) {
            problems.push({
                key: `${at}.versions[${index}].replicas`,
                message: `${version.replicas} is set while autoscaling owns the replica count of every version; remove replicas (each version gets its own autoscaler with autoscaling's bounds)`,
            });
        }
    });
    if (autoscaling.maxReplicas < autoscaling.minReplicas) {
        problems.push({ key: `${key}.maxReplicas`, message: `${autoscaling.maxReplicas} is below minReplicas ${autoscaling.minReplicas}; maxReplicas must be at least minReplicas` });
    }
    const targets = autoscalingTargets(autoscaling);
    for (const resource of ["cpu", "memory"] as const) {
        const request = component.resources?.requests?.[resource];
        if (targets[resource] !== undefined && (request === undefined || parseQuantity(request) === 0)) {
            problems.push({
                key: `${key}.${resource}Utilization`,
                message: `a ${resource} target is a percentage of the container's ${resource} request, and component "${component.name}" requests none; set resources.requests.${resource} (or componentDefaults.resources.requests.${resource})`,
            });
        }
    }
    return problems;
}

/** The autoscaler's targets in percent of the app container's requests; CPU at Kubernetes' default when none is given. */
export function autoscalingTargets(autoscaling: NonNullable<ComponentSpec["autoscaling"]>): { cpu?: number; memory?: number } {
    if (autoscaling.cpuUtilization === undefined && autoscaling.memoryUtilization === undefined) return { cpu: DEFAULT_CPU_UTILIZATION };
    return {
        ...(autoscaling.cpuUtilization !== undefined ? { cpu: autoscaling.cpuUtilization } : {}),
        ...(autoscaling.memoryUtilization !== undefined ? { memory: autoscaling.memoryUtilization } : {}),
    };
}

/** Whether the component's pods run to completion (a Job or CronJob) rather than serve. */
export function runsToCompletion(component: ComponentSpec): boolean {
    return component.job !== undefined;
}

/** Longest CronJob name: the controller appends an 11-character suffix to name each Job it starts. */
export const MAX_CRONJOB_NAME_LENGTH = 52;

/** Fields of a serving component that mean nothing for pods that run to completion. */
const SERVING_FIELDS = ["ports", "expose", "storage", "replicas", "versions", "autoscaling", "disruptionBudget", ...PROBE_FIELDS] as const;

function checkJob(component: ComponentSpec, at: string): Problem[] {
    const job = component.job;
    if (!job) return [];
    const problems: Problem[] = [];
    for (const field of SERVING_FIELDS) {
        const value = component[field];
        if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
        problems.push({ key: `${at}.${field}`, message: `${field} does not apply to a job: its pods run to completion and serve nothing; remove it (or remove job)` });
    }
    if (job.schedule === undefined) {
        for (const field of ["timeZone", "concurrencyPolicy", "startingDeadlineSeconds"] as const) {
            if (job[field] !== undefined) problems.push({ key: `${at}.job.${field}`, message: `${field} applies to scheduled jobs only; give job.schedule too, or remove it` });
        }
    } else if (component.name.length > MAX_CRONJOB_NAME_LENGTH) {
        problems.push({
            key: `${at}.name`,
            message: `${given(component.name)} has ${component.name.length} characters; a scheduled job's name may have at most ${MAX_CRONJOB_NAME_LENGTH} (Kubernetes appends 11 to name each run)`,
        });
    }
    return problems;
}

/** Everything wrong with a component's workload fields that its schema cannot see. */
export function checkWorkload(component: ComponentSpec, at: string): Problem[] {
    if (runsToCompletion(component)) return checkJob(component, at);
    return [
        ...PROBE_FIELDS.flatMap((field) => (component[field] ? checkProbe(component, field, component[field], at) : [])),
        ...checkAutoscaling(component, at),
        ...checkDisruptionBudget(component, at),
    ];
}
