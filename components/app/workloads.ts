import { autoscalingTargets, DEFAULT_STARTING_DEADLINE_SECONDS, kubeName, shortHash, type ComponentModel, type Manifest, type ProbeSpec, type WorkloadModel } from "../model";
import type { RenderedObject } from "./render";

/**
 * The workload parts of a component's manifests (issue #13 §2): probes, the replica count, the
 * HorizontalPodAutoscaler and the PodDisruptionBudget. Pure, mode-neutral: a mode never changes
 * them, so a mode switch leaves them as they are.
 */

/** A container probe. Probes use the app's own port number: kubelet checks the app, not a sidecar in front of it. */
export function probeManifest(component: ComponentModel, spec: ProbeSpec): Record<string, unknown> {
    const port = component.ports.find((candidate) => candidate.name === spec.port)!.targetPort;
    const headers = spec.headers ? { httpHeaders: Object.entries(spec.headers).map(([name, value]) => ({ name, value })) } : {};
    const action = spec.grpc
        ? { grpc: { port, ...(spec.grpc.service ? { service: spec.grpc.service } : {}) } }
        : spec.path !== undefined
          ? { httpGet: { path: spec.path, port, ...headers } }
          : { tcpSocket: { port } };
    return {
        ...action,
        initialDelaySeconds: spec.initialDelaySeconds,
        periodSeconds: spec.periodSeconds,
        ...(spec.timeoutSeconds !== undefined ? { timeoutSeconds: spec.timeoutSeconds } : {}),
        ...(spec.failureThreshold !== undefined ? { failureThreshold: spec.failureThreshold } : {}),
    };
}

/** The app container's probes, by their Kubernetes field names. */
export function containerProbes(component: ComponentModel): Record<string, unknown> {
    const spec = component.spec;
    return {
        ...(spec.readiness ? { readinessProbe: probeManifest(component, spec.readiness) } : {}),
        ...(spec.liveness ? { livenessProbe: probeManifest(component, spec.liveness) } : {}),
        ...(spec.startup ? { startupProbe: probeManifest(component, spec.startup) } : {}),
    };
}

/**
 * `spec.replicas` of the Deployment or StatefulSet. Left out when an autoscaler owns the count:
 * with it, every `up` would scale the workload back to the spec's number (Kubernetes' advice for
 * HPAs, https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#migrating-deployments-and-statefulsets-to-horizontal-autoscaling).
 */
export function replicasField(component: ComponentModel, workload: WorkloadModel): { replicas?: number } {
    return component.spec.autoscaling ? {} : { replicas: workload.replicas };
}

/** `terminationGracePeriodSeconds` of the pod, when the component or its app sets one. */
export function graceField(component: ComponentModel): { terminationGracePeriodSeconds?: number } {
    const grace = component.spec.terminationGracePeriodSeconds;
    return grace === undefined ? {} : { terminationGracePeriodSeconds: grace };
}

/**
 * The HorizontalPodAutoscaler of one workload of a component (one per version). It measures the app container alone
 * (`ContainerResource`, stable since Kubernetes 1.30): a `Resource` metric averages over every
 * container of the pod, so each mode's sidecar would skew it, and Kubernetes refuses to compute it
 * at all when a sidecar requests no CPU.
 */
export function autoscalerManifest(component: ComponentModel, workload: WorkloadModel, workloadKind: string, labels: Record<string, string>): Manifest[] {
    const autoscaling = component.spec.autoscaling;
    if (!autoscaling) return [];
    const targets = autoscalingTargets(autoscaling);
    return [
        {
            apiVersion: "autoscaling/v2",
            kind: "HorizontalPodAutoscaler",
            metadata: { name: workload.name, namespace: component.namespace, labels: { ...labels, ...workload.selectorLabels } },
            spec: {
                scaleTargetRef: { apiVersion: "apps/v1", kind: workloadKind, name: workload.name },
                minReplicas: autoscaling.minReplicas,
                maxReplicas: autoscaling.maxReplicas,
                metrics: (["cpu", "memory"] as const)
                    .filter((resource) => targets[resource] !== undefined)
                    .map((resource) => ({
                        type: "ContainerResource",
                        containerResource: { name: resource, container: component.component, target: { type: "Utilization", averageUtilization: targets[resource] } },
                    })),
            },
        },
    ];
}

/**
 * The PodDisruptionBudget of a component. Unhealthy pods may always be evicted, so a crashing
 * replica never blocks a node drain (Kubernetes' recommendation,
 * https://kubernetes.io/docs/tasks/run-application/configure-pdb/#unhealthy-pod-eviction-policy).
 */
export function disruptionBudgetManifest(component: ComponentModel, labels: Record<string, string>): Manifest[] {
    const budget = component.spec.disruptionBudget;
    if (!budget) return [];
    return [
        {
            apiVersion: "policy/v1",
            kind: "PodDisruptionBudget",
            metadata: { name: component.serviceName, namespace: component.namespace, labels },
            spec: {
                ...(budget.minAvailable !== undefined ? { minAvailable: budget.minAvailable } : { maxUnavailable: budget.maxUnavailable }),
                selector: { matchLabels: component.selectorLabels },
                unhealthyPodEvictionPolicy: "AlwaysAllow",
            },
        },
    ];
}

/**
 * A hash of what a Job does, independent of the mode: the component as written (with its app's
 * defaults) and the dependencies it reaches. It names the Job, so a changed definition is a new
 * Job that runs again, while a mode switch (which changes only the pod template) is not.
 */
export function jobDefinitionHash(component: ComponentModel): string {
    const dependencies = component.dependencies.map((dependency) => ({
        target: `${dependency.target.namespace}/${dependency.target.serviceName}`,
        port: [dependency.port.name, dependency.port.port, dependency.port.protocol],
        env: dependency.env,
    }));
    return shortHash(canonicalJson({ spec: component.spec, dependencies }) ?? "", 8);
}

/**
 * JSON with object keys sorted and empty values (`undefined`, `[]`, `{}`) left out: reordering keys
 * in a spec file is no change, and neither is a new spec field whose default is empty (so a newer
 * pluggable-mesh does not re-run every Job; test/workloads.test.ts pins one hash to catch that).
 */
function canonicalJson(value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (Array.isArray(value)) return value.length === 0 ? undefined : `[${value.map((item) => canonicalJson(item) ?? "null").join(",")}]`;
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>)
            .map(([key, inner]) => [key, canonicalJson(inner)] as const)
            .filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return entries.length === 0 ? undefined : `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${inner}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

/**
 * The Job or CronJob of a component that runs to completion, from the pod template its workload
 * would have. A Job's pod template cannot change once created, and a mode switch changes it: so the
 * Job is named by its definition's hash and Pulumi ignores template changes. A mode switch leaves a
 * finished Job alone instead of deleting and re-running it; a new definition is a new Job (created,
 * then the old one deleted). A CronJob's template can change: it keeps its name and the next runs
 * use the new mode.
 */
export function runToCompletionObject(component: ComponentModel, prefix: string, metadata: Manifest["metadata"], workloadSpec: { template: Record<string, unknown> }): RenderedObject {
    const job = component.spec.job!;
    const jobSpec = {
        ...(job.backoffLimit !== undefined ? { backoffLimit: job.backoffLimit } : {}),
        ...(job.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: job.activeDeadlineSeconds } : {}),
        template: workloadSpec.template,
    };
    if (job.schedule === undefined) {
        const hash = jobDefinitionHash(component);
        return {
            name: `${prefix}-${hash}`,
            manifest: { apiVersion: "batch/v1", kind: "Job", metadata: { ...metadata, name: kubeName(component.serviceName, hash) }, spec: jobSpec },
            ignoreChanges: ["spec.template"],
        };
    }
    return {
        name: prefix,
        manifest: {
            apiVersion: "batch/v1",
            kind: "CronJob",
            metadata,
            spec: {
                schedule: job.schedule,
                ...(job.timeZone !== undefined ? { timeZone: job.timeZone } : {}),
                concurrencyPolicy: job.concurrencyPolicy ?? "Forbid",
                startingDeadlineSeconds: job.startingDeadlineSeconds ?? DEFAULT_STARTING_DEADLINE_SECONDS,
                jobTemplate: { metadata: { labels: metadata.labels }, spec: jobSpec },
            },
        },
    };
}
