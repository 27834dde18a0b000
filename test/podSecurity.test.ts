import assert from "node:assert/strict";
import { checkApps, type AppInput } from "../components/app/plan";
import { renderApp } from "../components/app/render";
import type { Platform } from "../components/modes/mode";
import { PROJECT_ROOT } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { MODE_NAMES, ruoyiConfig, type ModeName } from "./support/meshRuns";

/**
 * Security context per component (user, group, volume group, read-only root, capabilities) over the
 * restricted defaults, and the Pod Security admission labels of the namespaces apps create: the
 * level each mode's additions and each component need, or a fixed level refused when they would not pass.
 */

const PLATFORM: Platform = loadStack(ruoyiConfig("native"), { projectRoot: PROJECT_ROOT }).platform;
const SOURCE = "shop.yaml";
const web = (extra: Record<string, unknown> = {}) => ({ name: "web", image: "ghcr.io/acme/web:1.0.0", ports: [{ name: "http", port: 8080 }], ...extra });

function shop(components: Record<string, unknown>[], mode: ModeName, namespace = "shop", name = "shop"): AppInput {
    return { spec: { name, namespace, components }, mode, source: `${name}.yaml` };
}

function render(inputs: AppInput[], platform: Platform = PLATFORM) {
    const { apps, problems } = checkApps(inputs, { platform });
    assert.deepEqual(problems, []);
    return apps.map((app) => renderApp(app, platform).objects.map((object) => object.manifest as any));
}

const levels = (enforce: string) => ({ "pod-security.kubernetes.io/enforce": enforce, "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted" });
const labelsOf = (namespace: any) => Object.fromEntries(Object.entries(namespace.metadata.labels as Record<string, string>).filter(([key]) => key.startsWith("pod-security.kubernetes.io/")));

describe("security context and Pod Security levels", () => {
    for (const mode of MODE_NAMES) {
        describe(mode, () => {
            const injected = mode === "istio" || mode === "linkerd";

            it("puts the component's user, group, read-only root and NET_BIND_SERVICE on its container over the restricted defaults, fsGroup on the pod", () => {
                const securityContext = { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, readOnlyRootFilesystem: true, capabilities: { add: ["NET_BIND_SERVICE"] } };
                const [objects] = render([shop([web({ securityContext })], mode)]);
                const pod = objects!.find((object) => object.kind === "Deployment").spec.template.spec;
                assert.deepEqual(pod.securityContext, { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, fsGroup: 10001 });
                assert.deepEqual(pod.containers[0].securityContext, {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
                    runAsUser: 10001,
                    runAsGroup: 10001,
                    readOnlyRootFilesystem: true,
                });
                const namespace = objects!.find((object) => object.kind === "Namespace");
                assert.deepEqual(labelsOf(namespace), levels(injected ? "privileged" : "restricted"));
            });

            it("enforces baseline for an exempt component, privileged for a capability outside baseline's set, and says why", () => {
                const exempt = web({ securityExemption: "the image starts as root and drops privileges itself" });
                const [baseline] = render([shop([exempt], mode)]);
                const namespace = baseline!.find((object) => object.kind === "Namespace");
                assert.deepEqual(labelsOf(namespace), levels(injected ? "privileged" : "baseline"));
                assert.equal(
                    namespace.metadata.annotations["pluggable-mesh.io/pod-security-reason"],
                    injected ? `mode ${mode} injects ${mode}-init, which needs NET_ADMIN and NET_RAW (no ${mode}-cni)` : `component "web" is exempt: the image starts as root and drops privileges itself`,
                );
                const [privileged] = render([shop([{ ...exempt, securityContext: { runAsUser: 0, capabilities: { add: ["CHOWN", "SYS_PTRACE"] } } }], mode)]);
                const container = privileged!.find((object) => object.kind === "Deployment").spec.template.spec.containers[0];
                assert.deepEqual(container.securityContext, { runAsUser: 0, capabilities: { add: ["CHOWN", "SYS_PTRACE"] } });
                const privilegedNamespace = privileged!.find((object) => object.kind === "Namespace");
                assert.deepEqual(labelsOf(privilegedNamespace), levels("privileged"));
                assert.equal(privilegedNamespace.metadata.annotations["pluggable-mesh.io/pod-security-reason"], injected ? `mode ${mode} injects ${mode}-init, which needs NET_ADMIN and NET_RAW (no ${mode}-cni)` : `component "web" adds SYS_PTRACE`);
            });

            it("labels a shared namespace with what every app in it needs", () => {
                const owner = shop([web()], mode);
                const guest: AppInput = { spec: { name: "guest", namespace: "shop", createNamespace: false, components: [web({ name: "api", securityExemption: "the image starts as root and drops privileges itself" })] }, mode, source: "guest.yaml" };
                const [objects] = render([owner, guest]);
                assert.deepEqual(labelsOf(objects!.find((object) => object.kind === "Namespace")), levels(injected ? "privileged" : "baseline"));
            });

            it("refuses a fixed level the app would not pass, before anything is registered", () => {
                const platform: Platform = { ...PLATFORM, podSecurity: { enforce: "restricted", warn: "restricted", audit: "restricted" } };
                const { problems } = checkApps([shop([web({ securityExemption: "the image starts as root and drops privileges itself" })], mode)], { platform });
                const need = injected ? { level: "privileged", reason: `mode ${mode} injects ${mode}-init, which needs NET_ADMIN and NET_RAW (no ${mode}-cni)` } : { level: "baseline", reason: `component "web" is exempt: the image starts as root and drops privileges itself` };
                assert.deepEqual(problems, [
                    {
                        key: `${SOURCE}: (pod security)`,
                        message: `app "shop" needs level "${need.level}" (${need.reason}), but podSecurity.enforce is "restricted": the API server would refuse its pods; set podSecurity.enforce to "${need.level}" or "auto"`,
                    },
                ]);
                // Negative control: the level it needs is accepted and used.
                const accepted: Platform = { ...PLATFORM, podSecurity: { enforce: "privileged", warn: "baseline", audit: "restricted" } };
                const [objects] = render([shop([web({ securityExemption: "the image starts as root and drops privileges itself" })], mode)], accepted);
                assert.deepEqual(labelsOf(objects!.find((object) => object.kind === "Namespace")), {
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "baseline",
                    "pod-security.kubernetes.io/audit": "restricted",
                });
            });
        });
    }

    it("refuses root and extra capabilities without an exemption, naming the field", () => {
        const { problems } = checkApps([shop([web({ securityContext: { runAsUser: 0, capabilities: { add: ["NET_BIND_SERVICE", "NET_ADMIN"] } } })], "native")], { platform: PLATFORM });
        assert.deepEqual(problems, [
            { key: `${SOURCE}: components[0].securityContext.runAsUser`, message: "0 (root) needs securityExemption: the restricted standard requires runAsNonRoot; say in securityExemption why the image must run as root" },
            {
                key: `${SOURCE}: components[0].securityContext.capabilities.add[1]`,
                message: `"NET_ADMIN" needs securityExemption: the restricted standard lets a container add only NET_BIND_SERVICE; say in securityExemption why the image needs it`,
            },
        ]);
    });

    it("refuses a capability that is not one, and an unknown field", () => {
        const { problems } = checkApps([shop([web({ securityContext: { capabilities: { add: ["net_admin"] }, privileged: true } })], "native")], { platform: PLATFORM });
        assert.deepEqual(problems, [
            { key: `${SOURCE}: components[0].securityContext.capabilities.add[0]`, message: `expected a capability name such as "NET_BIND_SERVICE", given "net_admin"` },
            { key: `${SOURCE}: components[0].securityContext`, message: `unknown field "privileged"; allowed fields: runAsUser, runAsGroup, fsGroup, readOnlyRootFilesystem, capabilities` },
        ]);
    });
});
