import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { checkApps, renderApp } from "../components/app";
import { PLATFORM_DEFAULTS } from "../components/modes";
import { formatProblems } from "../components/model";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { validateEnvoyBootstrap } from "./support/envoyApi";
import { findObject, kubeObjects, MODE_NAMES, objectsOfKind, runProgram, WORKLOADS_SPEC, workloadsConfig, type KubeObject, type ModeName } from "./support/meshRuns";
import { validateManifest } from "./support/schemas";

/**
 * The workload fields of the app spec (docs/workloads.md): probes (HTTP with headers, TCP, gRPC,
 * startup), the autoscaler and its hand-over of the replica count, disruption budgets, termination
 * grace and the defaults a component inherits. test/fixtures/workloads.yaml uses all of them and
 * is rendered in every mode: exact manifests, upstream schemas, envoy's API; the validators suite
 * runs istioctl and kube-score on it too.
 */

function fixtureSpec(): Record<string, any> {
    return parseYaml(fs.readFileSync(path.join(PROJECT_ROOT, WORKLOADS_SPEC), "utf8")) as Record<string, any>;
}

/** Problems of the fixture spec after `edit`, as the user reads them. */
function problemsAfter(edit: (spec: Record<string, any>) => void): string {
    const spec = fixtureSpec();
    edit(spec);
    return formatProblems(checkApps([{ spec, source: "workloads.yaml" }], { platform: PLATFORM_DEFAULTS }).problems);
}

const appContainer = (workload: Record<string, any>) => workload.spec.template.spec.containers[0];

/**
 * The hash of the fixture's Job definition: the same in every mode (asserted per mode below). Pinned:
 * when a change to pluggable-mesh changes it, every user's Jobs run again on upgrade; say so or avoid it.
 */
const SMOKE_HASH = "0388e2ed";

const NATIVE_SIDECAR: Record<ModeName, string> = {
    native: "no proxy at all",
    envoy: "our envoy, an init container that always restarts",
    istio: "istiod told so by sidecar.istio.io/nativeSidecar",
    linkerd: "Linkerd told so under each of its annotation names",
};

describe("workload fields (probes, autoscaling, disruption budgets, termination, defaults)", () => {
    for (const mode of MODE_NAMES) {
        describe(`in mode ${mode}`, () => {
            let objects: KubeObject[];
            before(async () => {
                objects = kubeObjects((await runProgram(workloadsConfig(mode))).resources).filter((object) => object.manifest.metadata?.namespace === "workloads");
            });

            it("probes: gRPC with and without a service, HTTP with headers, a startup probe; the app's own port numbers", () => {
                const health = appContainer(findObject(objects, "Deployment", "health"));
                assert.deepEqual(health.startupProbe, { grpc: { port: 5000 }, initialDelaySeconds: 0, periodSeconds: 2, failureThreshold: 30 });
                assert.deepEqual(health.readinessProbe, { grpc: { port: 5000, service: "health" }, initialDelaySeconds: 5, periodSeconds: 10 });
                assert.deepEqual(health.livenessProbe, { httpGet: { path: "/", port: 8080 }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 2 });
                const web = appContainer(findObject(objects, "Deployment", "web"));
                assert.deepEqual(web.readinessProbe, {
                    httpGet: { path: "/healthz", port: 8080, httpHeaders: [{ name: "Host", value: "web.example.com" }, { name: "X-Probe", value: "kubelet" }] },
                    initialDelaySeconds: 5,
                    periodSeconds: 10,
                });
            });

            if (mode === "istio") {
                it("a Service with several ports gets one VirtualService route per HTTP port, each naming its port (istioctl analyze IST0112 on the live cluster)", () => {
                    const routes = findObject(objects, "VirtualService", "health").spec.http as { match?: unknown; route: { destination: { port?: unknown } }[] }[];
                    assert.deepEqual(
                        routes.map((route) => [route.match, route.route.map((destination) => destination.destination.port)]),
                        [
                            [[{ port: 5000 }], [{ number: 5000 }]],
                            [[{ port: 8080 }], [{ number: 8080 }]],
                        ],
                    );
                });
            }

            it("an autoscaled Deployment leaves replicas to its HorizontalPodAutoscaler, which measures the app container only", () => {
                const health = findObject(objects, "Deployment", "health");
                assert.equal("replicas" in health.spec, false);
                assert.equal(findObject(objects, "Deployment", "web").spec.replicas, 2);
                const target = (name: string, averageUtilization: number) => ({
                    type: "ContainerResource",
                    containerResource: { name, container: "health", target: { type: "Utilization", averageUtilization } },
                });
                assert.deepEqual(objectsOfKind(objects, "HorizontalPodAutoscaler").map((hpa) => [hpa.metadata.name, hpa.spec]), [
                    ["health", { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "health" }, minReplicas: 2, maxReplicas: 6, metrics: [target("cpu", 70), target("memory", 85)] }],
                ]);
            });

            it("disruption budgets select the component's pods and let unhealthy ones go", () => {
                assert.deepEqual(
                    objectsOfKind(objects, "PodDisruptionBudget").map((pdb) => [pdb.metadata.name, pdb.spec]),
                    [
                        ["health", { minAvailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": "health", "app.kubernetes.io/instance": "workloads" } }, unhealthyPodEvictionPolicy: "AlwaysAllow" }],
                        ["web", { maxUnavailable: "50%", selector: { matchLabels: { "app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "workloads" } }, unhealthyPodEvictionPolicy: "AlwaysAllow" }],
                    ],
                );
            });

            it("a component's own grace period and resources win, value by value, over the app's componentDefaults", () => {
                const health = findObject(objects, "Deployment", "health");
                const web = findObject(objects, "Deployment", "web");
                assert.equal(health.spec.template.spec.terminationGracePeriodSeconds, 45);
                assert.equal(web.spec.template.spec.terminationGracePeriodSeconds, 20);
                assert.deepEqual(appContainer(health).resources, { requests: { cpu: "200m", memory: "64Mi" }, limits: { memory: "128Mi" } });
                assert.deepEqual(appContainer(web).resources, { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "128Mi" } });
            });

            it("a Job named by its definition's hash, its template left to the Job once created; a CronJob under its own name", () => {
                const jobs = objects.filter((object) => object.kind === "Job");
                assert.deepEqual(
                    jobs.map((job) => [job.resource.name, job.manifest.metadata.name, job.resource.ignoreChanges]),
                    [[`workloads-smoke-${SMOKE_HASH}`, `smoke-${SMOKE_HASH}`, ["spec.template"]]],
                );
                const job = jobs[0]!.manifest;
                assert.deepEqual({ ...job.spec, template: undefined }, { backoffLimit: 3, activeDeadlineSeconds: 120, template: undefined });
                assert.equal(job.spec.template.spec.restartPolicy, "Never");
                assert.deepEqual(appContainer(job).args, ["connect", "$(WEB_ADDR)", "--timeout=5s"]);
                const cron = objects.find((object) => object.kind === "CronJob")!;
                assert.deepEqual([cron.resource.name, cron.resource.ignoreChanges], ["workloads-ping", []]);
                assert.deepEqual({ ...cron.manifest.spec, jobTemplate: undefined }, { schedule: "*/30 * * * *", timeZone: "Etc/UTC", concurrencyPolicy: "Forbid", startingDeadlineSeconds: 300, jobTemplate: undefined });
                assert.equal(cron.manifest.spec.jobTemplate.spec.template.spec.restartPolicy, "OnFailure");
                // Nothing of a serving component: no Service, autoscaler or budget for either.
                assert.deepEqual(
                    objects
                        .filter((object) => ["smoke", "ping", "smoke-headless", "ping-headless"].includes(object.manifest.metadata.name))
                        .filter((object) => ["Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"].includes(object.kind))
                        .map((object) => object.kind),
                    [],
                );
            });

            it(`the pods of a Job and a CronJob run their proxy as a native sidecar (${NATIVE_SIDECAR[mode]})`, () => {
                const job = findObject(objects, "Job", `smoke-${SMOKE_HASH}`);
                const cron = findObject(objects, "CronJob", "ping");
                for (const template of [job.spec.template, cron.spec.jobTemplate.spec.template]) {
                    const annotations = template.metadata.annotations as Record<string, string>;
                    const sidecarAnnotations = Object.fromEntries(Object.entries(annotations).filter(([key]) => /nativeSidecar|native-sidecar/.test(key)));
                    const sidecars = (template.spec.initContainers ?? []).map((container: Record<string, unknown>) => [container.name, container.restartPolicy]);
                    if (mode === "istio") assert.deepEqual(sidecarAnnotations, { "sidecar.istio.io/nativeSidecar": "true" });
                    if (mode === "linkerd") {
                        assert.deepEqual(sidecarAnnotations, {
                            "config.alpha.linkerd.io/proxy-enable-native-sidecar": "true",
                            "config.beta.linkerd.io/proxy-enable-native-sidecar": "true",
                            "config.linkerd.io/proxy-enable-native-sidecar": "true",
                        });
                    }
                    if (mode === "envoy" || mode === "native") assert.deepEqual(sidecarAnnotations, {});
                    assert.deepEqual(sidecars, mode === "envoy" ? [["envoy", "Always"]] : []);
                }
                // Serving pods keep the mode's default injection: the annotations are for pods that must finish.
                const web = findObject(objects, "Deployment", "web").spec.template.metadata.annotations as Record<string, string>;
                assert.deepEqual(Object.keys(web).filter((key) => /nativeSidecar|native-sidecar/.test(key)), []);
            });

            it("every object passes its upstream schema, every envoy bootstrap envoy's API", async () => {
                const failures: string[] = [];
                for (const object of objects) await validateManifest(object.manifest as { apiVersion: string; kind: string }).catch((error: Error) => failures.push(error.message));
                assert.deepEqual(failures, []);
                const bootstraps = objectsOfKind(objects, "ConfigMap").filter((configMap) => typeof configMap.data?.["envoy.json"] === "string");
                assert.equal(bootstraps.length, mode === "envoy" ? 4 : 0);
                assert.deepEqual(
                    bootstraps.flatMap((configMap) => validateEnvoyBootstrap(JSON.parse(configMap.data["envoy.json"] as string)).map((problem) => `${configMap.metadata.name}: ${problem}`)),
                    [],
                );
            });
        });
    }

    describe("when a Job runs again", () => {
        /** The Job's Kubernetes name after `edit` of the fixture (native mode: every mode gives the same, as asserted above). */
        function jobName(edit: (spec: Record<string, any>) => void): string {
            const spec = fixtureSpec();
            edit(spec);
            const { apps, problems } = checkApps([{ spec, source: "workloads.yaml" }], { platform: PLATFORM_DEFAULTS });
            assert.deepEqual(problems, []);
            return renderApp(apps[0]!, PLATFORM_DEFAULTS).objects.find((object) => object.manifest.kind === "Job")!.manifest.metadata.name;
        }

        it("not when keys are reordered, empty defaults are spelled out or another component changes; when its own definition, its app's defaults or what it depends on change", () => {
            assert.equal(jobName(() => {}), `smoke-${SMOKE_HASH}`);
            assert.equal(
                jobName((spec) => {
                    const smoke = spec.components[2];
                    // Keys in another order, and fields given with their empty defaults.
                    spec.components[2] = { env: {}, configFiles: [], ...Object.fromEntries(Object.entries(smoke).reverse()) };
                    spec.components[0].image = "registry.k8s.io/e2e-test-images/agnhost:2.41";
                }),
                `smoke-${SMOKE_HASH}`,
            );
            const changed = [
                jobName((spec) => void (spec.components[2].image = "registry.k8s.io/e2e-test-images/agnhost:2.41")),
                jobName((spec) => void (spec.components[2].job.backoffLimit = 4)),
                jobName((spec) => void (spec.componentDefaults.resources.limits.memory = "256Mi")),
                jobName((spec) => void (spec.components[1].ports[0].port = 8081)),
            ];
            assert.equal(new Set([`smoke-${SMOKE_HASH}`, ...changed]).size, 5, changed.join(", "));
        });
    });

    describe("what the schema cannot see is refused with one clear message each", () => {
        it("the fixture itself has no problem (the control for the cases below)", () => {
            assert.equal(problemsAfter(() => {}), "");
        });

        it("probes: an unknown port, HTTP and gRPC at once, gRPC on a plain HTTP port, headers without a path", () => {
            const problems = problemsAfter((spec) => {
                const [health, web] = spec.components;
                health.startup = { port: "metrics", grpc: {} };
                health.readiness = { port: "grpc", grpc: {}, path: "/ready" };
                health.liveness = { port: "admin", grpc: {} };
                web.readiness = { port: "http", headers: { Host: "web" } };
            });
            assert.equal(
                problems,
                [
                    'workloads.yaml: components[0].readiness.grpc: a probe is either HTTP (path) or gRPC (grpc), not both; remove one',
                    'workloads.yaml: components[0].liveness.grpc: port "admin" is of protocol http; a gRPC health probe needs a gRPC server, on a port of protocol grpc (or http2)',
                    'workloads.yaml: components[0].startup.port: "metrics" is not a port of component "health"; use one of grpc, admin',
                    "workloads.yaml: components[1].readiness.headers: headers are sent with HTTP probes only; give a path too, or remove headers",
                ].join("\n"),
            );
        });

        it("autoscaling: replicas beside it, max below min, a target on a resource the container does not request", () => {
            const problems = problemsAfter((spec) => {
                const health = spec.components[0];
                health.replicas = 3;
                health.autoscaling = { minReplicas: 4, maxReplicas: 3, memoryUtilization: 80 };
                spec.componentDefaults.resources.requests = { cpu: "100m" };
            });
            assert.equal(
                problems,
                [
                    "workloads.yaml: components[0].replicas: 3 is set while autoscaling owns the replica count (every up would reset what the autoscaler chose); remove replicas and use autoscaling.minReplicas",
                    "workloads.yaml: components[0].autoscaling.maxReplicas: 3 is below minReplicas 4; maxReplicas must be at least minReplicas",
                    'workloads.yaml: components[0].autoscaling.memoryUtilization: a memory target is a percentage of the container\'s memory request, and component "health" requests none; set resources.requests.memory (or componentDefaults.resources.requests.memory)',
                ].join("\n"),
            );
        });

        it("an autoscaler without a target scales on CPU at Kubernetes' default, which needs a CPU request", () => {
            const problems = problemsAfter((spec) => {
                const health = spec.components[0];
                health.autoscaling = { minReplicas: 2, maxReplicas: 3 };
                delete health.resources;
                spec.componentDefaults.resources.requests = { memory: "64Mi" };
            });
            assert.equal(
                problems,
                'workloads.yaml: components[0].autoscaling.cpuUtilization: a cpu target is a percentage of the container\'s cpu request, and component "health" requests none; set resources.requests.cpu (or componentDefaults.resources.requests.cpu)',
            );
        });

        it("disruption budgets: both fields, or one that never lets a pod go", () => {
            const cases: [Record<string, unknown>, Record<string, unknown>, string][] = [
                [{ minAvailable: 1, maxUnavailable: 1 }, { replicas: 2 }, "components[1].disruptionBudget: give exactly one of minAvailable or maxUnavailable (Kubernetes accepts one per budget)"],
                [{}, { replicas: 2 }, "components[1].disruptionBudget: give exactly one of minAvailable or maxUnavailable (Kubernetes accepts one per budget)"],
                [
                    { minAvailable: 2 },
                    { replicas: 2 },
                    "components[1].disruptionBudget.minAvailable: 2 with 2 replicas never lets a pod be evicted, so node drains would wait forever; allow at least one pod to go (more replicas, a lower minAvailable or maxUnavailable ≥ 1)",
                ],
                [
                    { minAvailable: 1 },
                    {},
                    "components[1].disruptionBudget.minAvailable: 1 with 1 replica never lets a pod be evicted, so node drains would wait forever; allow at least one pod to go (more replicas, a lower minAvailable or maxUnavailable ≥ 1)",
                ],
                [
                    { minAvailable: "100%" },
                    { replicas: 5 },
                    'components[1].disruptionBudget.minAvailable: "100%" with 5 replicas never lets a pod be evicted, so node drains would wait forever; allow at least one pod to go (more replicas, a lower minAvailable or maxUnavailable ≥ 1)',
                ],
                [
                    { maxUnavailable: "0%" },
                    { replicas: 5 },
                    'components[1].disruptionBudget.maxUnavailable: "0%" with 5 replicas never lets a pod be evicted, so node drains would wait forever; allow at least one pod to go (more replicas, a lower minAvailable or maxUnavailable ≥ 1)',
                ],
                [{ minAvailable: 1 }, { replicas: 2 }, ""],
                [{ maxUnavailable: 1 }, {}, ""],
            ];
            for (const [budget, scale, expected] of cases) {
                const problems = problemsAfter((spec) => {
                    const web = spec.components[1];
                    delete web.replicas;
                    Object.assign(web, scale, { disruptionBudget: budget });
                });
                assert.equal(problems, expected ? `workloads.yaml: ${expected}` : "", JSON.stringify([budget, scale]));
            }
            const autoscaled = problemsAfter((spec) => {
                spec.components[0].autoscaling.minReplicas = 1;
            });
            assert.equal(
                autoscaled,
                "workloads.yaml: components[0].disruptionBudget.minAvailable: 1 with 1 replica (autoscaling.minReplicas) never lets a pod be evicted, so node drains would wait forever; allow at least one pod to go (more replicas, a lower minAvailable or maxUnavailable ≥ 1)",
            );
        });

        it("jobs: serving fields, schedule-only fields without a schedule, a scheduled name too long for its runs", () => {
            const problems = problemsAfter((spec) => {
                const [, , smoke, ping] = spec.components;
                Object.assign(smoke, {
                    ports: [{ name: "http", port: 8080 }],
                    replicas: 2,
                    readiness: { port: "http", path: "/" },
                    disruptionBudget: { maxUnavailable: 1 },
                    job: { concurrencyPolicy: "Allow", timeZone: "Etc/UTC" },
                });
                ping.name = "p".repeat(53);
            });
            assert.equal(
                problems,
                [
                    "workloads.yaml: components[2].ports: ports does not apply to a job: its pods run to completion and serve nothing; remove it (or remove job)",
                    "workloads.yaml: components[2].replicas: replicas does not apply to a job: its pods run to completion and serve nothing; remove it (or remove job)",
                    "workloads.yaml: components[2].disruptionBudget: disruptionBudget does not apply to a job: its pods run to completion and serve nothing; remove it (or remove job)",
                    "workloads.yaml: components[2].readiness: readiness does not apply to a job: its pods run to completion and serve nothing; remove it (or remove job)",
                    "workloads.yaml: components[2].job.timeZone: timeZone applies to scheduled jobs only; give job.schedule too, or remove it",
                    "workloads.yaml: components[2].job.concurrencyPolicy: concurrencyPolicy applies to scheduled jobs only; give job.schedule too, or remove it",
                    `workloads.yaml: components[3].name: "${"p".repeat(53)}" has 53 characters; a scheduled job's name may have at most 52 (Kubernetes appends 11 to name each run)`,
                ].join("\n"),
            );
            assert.equal(
                problemsAfter((spec) => {
                    spec.components[3].job.schedule = "every day";
                }),
                'workloads.yaml: components[3].job.schedule: expected a cron schedule of five fields (e.g. "30 3 * * *") or a macro such as "@daily", given "every day"',
            );
            assert.equal(
                problemsAfter((spec) => {
                    spec.components[1].dependsOn = ["smoke"];
                }),
                'workloads.yaml: components[1].dependsOn[0]: "smoke" declares no ports, so there is nothing to connect to',
            );
        });

        it("the schema refuses a bad header name, a percentage above 100 and a negative grace period", () => {
            const problems = problemsAfter((spec) => {
                const [health, web] = spec.components;
                web.readiness.headers = { "Bad Header": "x" };
                web.disruptionBudget = { maxUnavailable: "150%" };
                health.terminationGracePeriodSeconds = -1;
            });
            assert.equal(
                problems,
                [
                    "workloads.yaml: components[0].terminationGracePeriodSeconds: expected at least 0, given -1",
                    'workloads.yaml: components[1].readiness.headers.Bad Header: "Bad Header" is not an HTTP header name; use letters, digits and \'-\', at most 256 characters',
                    'workloads.yaml: components[1].disruptionBudget.maxUnavailable: expected a count or a percentage from "0%" to "100%", given "150%"',
                ].join("\n"),
            );
        });
    });
});
