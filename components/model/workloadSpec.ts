import { z } from "zod";
import { MAX_INT32, quantity as quantityRule, ruleString, type SyntaxRule } from "./syntax";
import { given } from "./userText";

/**
 * The workload parts of the app spec (issue #13 §2): probes, autoscaling, disruption budgets,
 * termination grace, run-to-completion kinds and the defaults a component inherits from its app.
 * spec.ts assembles them into the component and app schemas; workloads.ts checks what a schema
 * cannot (fields that depend on each other) and merges the defaults.
 */

const int32 = (min: number) => z.number().int().min(min).max(MAX_INT32);

/** An HTTP header name as Kubernetes validates a probe's (`IsHTTPHeaderName`): letters, digits and '-'. */
const httpHeaderName: SyntaxRule = (value) =>
    /^[-A-Za-z0-9]{1,256}$/.test(value) ? undefined : `${given(value)} is not an HTTP header name; use letters, digits and '-', at most 256 characters`;

export const probeSchema = z.strictObject({
    port: z.string().describe("Name of the port to probe."),
    path: z.string().startsWith("/").optional().describe("HTTP path: an HTTP GET probe. Without `path` or `grpc` the probe is a TCP connect."),
    headers: z
        .record(
            ruleString(httpHeaderName),
            z.string().max(1024).regex(/^[^\r\n]*$/, { error: () => "expected a header value on one line" }),
        )
        .optional()
        .describe("HTTP headers sent with the probe (only with `path`), e.g. `{ Host: app.example.com }`. They are stored in the pod spec in plain text: never a credential."),
    grpc: z
        .strictObject({
            service: z.string().max(253).optional().describe("Service name sent in the health check request. Default: empty, the server as a whole."),
        })
        .optional()
        .describe("A gRPC health check (grpc.health.v1.Health/Check) on a port of protocol grpc instead of HTTP or TCP."),
    initialDelaySeconds: int32(0).default(5).describe("Seconds before the first probe."),
    periodSeconds: int32(1).default(10).describe("Seconds between probes."),
    timeoutSeconds: int32(1).optional().describe("Seconds before a probe times out. Default: Kubernetes' (1)."),
    failureThreshold: int32(1).optional().describe("Failures in a row that count: not ready, restart, or (startup) still starting. Default: Kubernetes' (3); a startup probe usually needs more."),
});
export type ProbeSpec = z.output<typeof probeSchema>;

/** An absolute count or a percentage, as a disruption budget takes it. */
const countOrPercent = z.union([
    int32(0),
    z.string().regex(/^(100|[1-9]?[0-9])%$/, { error: (issue) => `expected a count or a percentage from "0%" to "100%", given ${given(issue.input)}` }),
]);

export const autoscalingSchema = z.strictObject({
    minReplicas: int32(1).default(1).describe("Fewest replicas."),
    maxReplicas: int32(1).describe("Most replicas."),
    cpuUtilization: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .optional()
        .describe("Target average CPU use of the app container, in percent of its CPU request. Default: 80 when no target is given."),
    memoryUtilization: z.number().int().min(1).max(1000).optional().describe("Target average memory use of the app container, in percent of its memory request."),
});
export type AutoscalingSpec = z.output<typeof autoscalingSchema>;

/** Kubernetes' own default target when an autoscaler names none (autoscaling/v2), written down once. */
export const DEFAULT_CPU_UTILIZATION = 80;

export const disruptionBudgetSchema = z.strictObject({
    minAvailable: countOrPercent.optional().describe("Pods that must stay available during voluntary disruptions (node drains); a count or a percentage."),
    maxUnavailable: countOrPercent.optional().describe("Pods that may be unavailable during voluntary disruptions; a count or a percentage. Give this or minAvailable."),
});
export type DisruptionBudgetSpec = z.output<typeof disruptionBudgetSchema>;

const quantity = ruleString(quantityRule);
export const resourceList = z.strictObject({ cpu: quantity.optional().describe("CPU, e.g. \"250m\"."), memory: quantity.optional().describe("Memory, e.g. \"512Mi\".") });
export const resourcesSchema = z.strictObject({
    requests: resourceList.optional().describe("Requests (Kubernetes quantities)."),
    limits: resourceList.optional().describe("Limits (Kubernetes quantities); no request above its limit."),
});
export type ResourcesSpec = z.output<typeof resourcesSchema>;

export const terminationGracePeriodSchema = int32(0).describe(
    "Seconds a pod gets to stop after SIGTERM before it is killed; native sidecars stop after the app, within the same period. Default: the app's componentDefaults, then Kubernetes' (30).",
);

export const componentDefaultsSchema = z.strictObject({
    resources: resourcesSchema.optional().describe("Requests and limits each component gets for every value it does not set itself."),
    terminationGracePeriodSeconds: terminationGracePeriodSchema.optional(),
});
export type ComponentDefaultsSpec = z.output<typeof componentDefaultsSchema>;

/** A cron schedule as the CronJob controller parses it: five fields, or a macro such as `@daily`. */
const CRON_SCHEDULE = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9A-Za-z*?/,-]+\s+){4}[0-9A-Za-z*?/,-]+)$/;

export const jobSchema = z.strictObject({
    schedule: z
        .string()
        .max(100)
        .regex(CRON_SCHEDULE, { error: (issue) => `expected a cron schedule of five fields (e.g. "30 3 * * *") or a macro such as "@daily", given ${given(issue.input)}` })
        .optional()
        .describe("Cron schedule: a CronJob that starts the job at these times. Default: a Job that runs once, and again only when its definition changes (docs/workloads.md)."),
    timeZone: z
        .string()
        .max(64)
        .regex(/^[A-Za-z][A-Za-z0-9_+\-/]*$/, { error: (issue) => `expected an IANA time zone name such as "Europe/Berlin", given ${given(issue.input)}` })
        .optional()
        .describe("Time zone of the schedule (an IANA name). Default: the controller's, usually UTC."),
    concurrencyPolicy: z.enum(["Forbid", "Allow", "Replace"]).optional().describe("What a scheduled run does while the last one still runs. Default: Forbid (skip it)."),
    startingDeadlineSeconds: int32(1).optional().describe("A scheduled run that could not start within this many seconds is skipped. Default: 300 with a schedule."),
    backoffLimit: int32(0).optional().describe("Retries before the Job counts as failed. Default: Kubernetes' (6)."),
    activeDeadlineSeconds: int32(1).optional().describe("Longest a run may take, retries included, before it is stopped and fails. Default: none."),
    restartPolicy: z.enum(["OnFailure", "Never"]).default("OnFailure").describe("OnFailure restarts a failed container in its pod; Never starts a new pod for each retry."),
});
export type JobSpec = z.output<typeof jobSchema>;

/** How long a missed scheduled run may still start: without one, a controller outage of 100 missed runs stops the CronJob for good. */
export const DEFAULT_STARTING_DEADLINE_SECONDS = 300;
