import assert from "node:assert/strict";
import { checkApps, renderApp, resolvePlatform } from "../components/app";
import { istioPlatform } from "../components/istio";
import { MODE_NAMES, type AppSpecInput, type Manifest, type ModeName } from "../components/model";
import type { Platform } from "../components/modes";

/**
 * A mode switch is a rolling update: for a while the callee's old-mode and new-mode pods serve side
 * by side, and the caller's pods from before and after its own re-render both keep calling. For
 * every caller mode and every ordered pair of callee modes, this walks each connection the way the
 * cluster would (the address the app is given, the envoy bootstrap or the Service and each pod's
 * named ports, Linkerd's proxy port between meshed pods) and checks that both kinds of callee pod
 * accept it: the pod serves the port, the NetworkPolicies in force (old or new, ingress and egress)
 * admit it, and for an Istio callee, mTLS and the AuthorizationPolicy let that caller in.
 *
 * The cluster knowledge here (how a Service resolves a named port, Linkerd's 4143, which labels
 * mark a pod as meshed) is written down independently of the modes, so the test can disagree with them.
 */

const CALLER = { app: "client", namespace: "client", component: "web" };
const CALLEE = { app: "server", namespace: "server", component: "api" };
/** Service port 80 → container port 8080 (a port that differs from its Service port), and a TCP port. */
const CALLEE_PORTS = [
    { name: "http", port: 80, targetPort: 8080, protocol: "http" as const, env: "API_HTTP_ADDR" },
    { name: "db", port: 5432, protocol: "tcp" as const, env: "API_DB_ADDR" },
];
const CLUSTER_DOMAIN = "cluster.local";
const LINKERD_PROXY_INBOUND = 4143;

const server: AppSpecInput = {
    name: CALLEE.app,
    mtls: "STRICT",
    components: [{ name: CALLEE.component, image: "ghcr.io/acme/api:1.0.0", ports: CALLEE_PORTS.map(({ env: _env, ...port }) => port) }],
};
const client: AppSpecInput = {
    name: CALLER.app,
    components: [{ name: CALLER.component, image: "ghcr.io/acme/web:1.0.0", dependsOn: [`${CALLEE.app}/${CALLEE.component}`] }],
};

const platform: Platform = {
    ...resolvePlatform({ linkerd: { namespace: "linkerd" }, networkPolicies: "ingress+egress" }),
    istio: istioPlatform({ gateway: { enabled: true } }),
};

interface Rendered {
    objects: Manifest[];
    warnings: string[];
}

/** The two apps rendered with the caller in one mode and the callee in another. */
function render(callerMode: ModeName, calleeMode: ModeName): { caller: Rendered; callee: Rendered } {
    const { apps, problems } = checkApps(
        [
            { spec: client, mode: callerMode, source: "client" },
            { spec: server, mode: calleeMode, source: "server" },
        ],
        { platform },
    );
    assert.deepEqual(problems, []);
    const [caller, callee] = apps.map((app) => renderApp(app, platform)).map((app) => ({ objects: app.objects.map((object) => object.manifest), warnings: app.warnings }));
    return { caller: caller!, callee: callee! };
}

type Pod = { namespace: string; labels: Record<string, string>; annotations: Record<string, string>; spec: any };

function podOf(objects: readonly Manifest[], component: string, namespace: string): Pod {
    const workloads = objects.filter((object) => ["Deployment", "StatefulSet"].includes(object.kind) && object.metadata.name === component);
    assert.equal(workloads.length, 1, `one workload ${component}`);
    const template = (workloads[0] as any).spec.template;
    return { namespace, labels: template.metadata.labels ?? {}, annotations: template.metadata.annotations ?? {}, spec: template.spec };
}

const isLinkerdMeshed = (pod: Pod) => pod.annotations["linkerd.io/inject"] === "enabled";
const isIstioMeshed = (pod: Pod) => pod.labels["sidecar.istio.io/inject"] === "true";

/** Ports the pod's containers and native sidecars declare: name → number, and the numbers. */
function podPorts(pod: Pod): { named: Map<string, number>; numbers: Set<number> } {
    const containers = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? []).filter((container: any) => container.restartPolicy === "Always")];
    const named = new Map<string, number>();
    const numbers = new Set<number>();
    for (const container of containers) {
        for (const port of container.ports ?? []) {
            numbers.add(port.containerPort);
            if (port.name) named.set(port.name, port.containerPort);
        }
    }
    return { named, numbers };
}

/** The envoy bootstrap of the caller's pod, when it has one. */
function bootstrapOf(objects: readonly Manifest[]): any | undefined {
    const configMap = objects.find((object) => object.kind === "ConfigMap" && typeof (object as any).data?.["envoy.json"] === "string");
    return configMap === undefined ? undefined : JSON.parse((configMap as any).data["envoy.json"]);
}

/** Where a caller's connection lands on one callee pod: the port it dials there, or why it cannot. */
function dialledPort(caller: Rendered, callerPod: Pod, callee: Rendered, calleePod: Pod, port: (typeof CALLEE_PORTS)[number]): number | string {
    const env = callerPod.spec.containers[0].env.find((variable: { name: string }) => variable.name === port.env)?.value as string | undefined;
    if (env === undefined) return `the caller has no ${port.env}`;
    const [host, portText] = env.split(":");
    if (host === "127.0.0.1") {
        // Envoy mode: the app dials its sidecar, whose listener's cluster names the callee's pods (headless Service) and a port on them.
        const bootstrap = bootstrapOf(caller.objects);
        const listener = bootstrap?.static_resources.listeners.find((candidate: any) => candidate.address.socket_address.port_value === Number(portText));
        if (listener === undefined) return `no sidecar listener on 127.0.0.1:${portText}`;
        const cluster = bootstrap.static_resources.clusters.find((candidate: any) => candidate.name === listener.name);
        const address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
        const headless = `${CALLEE.component}-headless.${CALLEE.namespace}.svc.${CLUSTER_DOMAIN}`;
        if (address.address !== headless) return `the sidecar dials ${address.address}, not ${headless}`;
        return address.port_value as number;
    }
    if (host !== `${CALLEE.component}.${CALLEE.namespace}.svc.${CLUSTER_DOMAIN}`) return `the caller dials ${host}`;
    // Through the Service: its port's named target resolves on each pod to that pod's port of the name.
    const service = callee.objects.find((object) => object.kind === "Service" && object.metadata.name === CALLEE.component) as any;
    const servicePort = service.spec.ports.find((candidate: any) => candidate.port === Number(portText));
    if (servicePort === undefined) return `the Service has no port ${portText}`;
    const resolved = typeof servicePort.targetPort === "number" ? servicePort.targetPort : podPorts(calleePod).named.get(servicePort.targetPort);
    if (resolved === undefined) return `the pod has no port named ${servicePort.targetPort}`;
    // Between two meshed pods, Linkerd's proxy dials the callee's proxy inbound port instead.
    return isLinkerdMeshed(callerPod) && isLinkerdMeshed(calleePod) ? LINKERD_PROXY_INBOUND : resolved;
}

const selects = (matchLabels: Record<string, string> | undefined, labels: Record<string, string>) => Object.entries(matchLabels ?? {}).every(([key, value]) => labels[key] === value);

/** Whether a NetworkPolicy peer names the pod (our policies use matchLabels only; anything else fails the test). */
function peerMatches(peer: any, policyNamespace: string, pod: Pod): boolean {
    for (const key of Object.keys(peer)) assert.ok(["podSelector", "namespaceSelector"].includes(key), `unexpected peer field ${key}`);
    const namespaceOk = peer.namespaceSelector === undefined ? pod.namespace === policyNamespace : selects(peer.namespaceSelector.matchLabels, { "kubernetes.io/metadata.name": pod.namespace });
    return namespaceOk && selects(peer.podSelector?.matchLabels, pod.labels);
}

/** Whether the policies (one namespace's) let `other` connect to `pod` on `port` in one direction, per Kubernetes' rules: isolated pods need a rule that allows it. */
function admitted(policies: readonly Manifest[], pod: Pod, direction: "ingress" | "egress", other: Pod, port: number): boolean {
    const type = direction === "ingress" ? "Ingress" : "Egress";
    const field = direction === "ingress" ? "from" : "to";
    const governing = policies.filter((policy: any) => policy.kind === "NetworkPolicy" && policy.metadata.namespace === pod.namespace && selects(policy.spec.podSelector.matchLabels, pod.labels) && policy.spec.policyTypes.includes(type));
    if (governing.length === 0) return true;
    return governing.some((policy: any) =>
        (policy.spec[direction] ?? []).some(
            (rule: any) =>
                (rule[field] === undefined || rule[field].some((peer: any) => peerMatches(peer, policy.metadata.namespace, other))) &&
                (rule.ports === undefined || rule.ports.some((candidate: any) => candidate.protocol === "TCP" && candidate.port === port)),
        ),
    );
}

/** Istio's verdict on a connection to an Istio pod: mTLS mode on that port and the ALLOW policies. */
function istioAdmits(callee: Rendered, calleePod: Pod, callerPod: Pod, port: number): string | undefined {
    // Istio gives a workload matched by several workload-selector policies the oldest one: exactly one may match.
    const governing = (callee.objects.filter((object) => object.kind === "PeerAuthentication") as any[]).filter((pa) => pa.spec.selector && selects(pa.spec.selector.matchLabels, calleePod.labels));
    if (governing.length !== 1) return `${governing.length} PeerAuthentications select the pod`;
    const mode = governing[0].spec.portLevelMtls?.[String(port)]?.mode ?? governing[0].spec.mtls.mode;
    const plaintext = !isIstioMeshed(callerPod);
    if (plaintext && mode === "STRICT") return `port ${port} is STRICT and the caller has no sidecar`;
    const principal = `cluster.local/ns/${CALLER.namespace}/sa/${CALLER.app}-${CALLER.component}`;
    const allows = (callee.objects.filter((object) => object.kind === "AuthorizationPolicy") as any[])
        .filter((policy) => selects(policy.spec.selector.matchLabels, calleePod.labels))
        .some((policy) =>
            policy.spec.rules.some(
                (rule: any) =>
                    rule.from.some((from: any) => (plaintext ? from.source.notPrincipals?.includes("*") : from.source.principals?.includes(principal))) &&
                    rule.to.some((to: any) => to.operation.ports.includes(String(port))),
            ),
        );
    return allows ? undefined : `no AuthorizationPolicy rule admits ${plaintext ? "a caller without identity" : principal} on port ${port}`;
}

/** Everything that would drop one connection, as readable lines. */
function dropped(caller: Rendered, callee: Rendered, calleePolicies: readonly Manifest[], label: string): string[] {
    const callerPod = podOf(caller.objects, CALLER.component, CALLER.namespace);
    const calleePod = podOf(callee.objects, CALLEE.component, CALLEE.namespace);
    return CALLEE_PORTS.flatMap((port) => {
        const where = `${label}, port ${port.name}`;
        const dialled = dialledPort(caller, callerPod, callee, calleePod, port);
        if (typeof dialled === "string") return [`${where}: ${dialled}`];
        const problems: string[] = [];
        // Linkerd injects its proxy at admission; the template cannot show 4143, the injected proxy serves it.
        if (!podPorts(calleePod).numbers.has(dialled) && !(dialled === LINKERD_PROXY_INBOUND && isLinkerdMeshed(calleePod))) problems.push(`${where}: the pod serves no port ${dialled}`);
        if (!admitted(calleePolicies, calleePod, "ingress", callerPod, dialled)) problems.push(`${where}: NetworkPolicy ingress drops ${dialled}`);
        if (!admitted(caller.objects, callerPod, "egress", calleePod, dialled)) problems.push(`${where}: NetworkPolicy egress drops ${dialled}`);
        if (isIstioMeshed(calleePod)) {
            const refusal = istioAdmits(callee, calleePod, callerPod, dialled);
            if (refusal) problems.push(`${where}: Istio refuses: ${refusal}`);
        }
        return problems;
    });
}

const PAIRS: [ModeName, ModeName][] = MODE_NAMES.flatMap((from) => MODE_NAMES.filter((to) => to !== from).map((to) => [from, to] as [ModeName, ModeName]));

describe("traffic keeps flowing while a callee switches mode", () => {
    for (const callerMode of MODE_NAMES) {
        for (const [from, to] of PAIRS) {
            it(`caller in ${callerMode}, callee ${from} → ${to}: old and new callee pods accept what old and new caller pods dial`, () => {
                const before = render(callerMode, from);
                const after = render(callerMode, to);
                const problems: string[] = [];
                for (const [callerLabel, caller] of [["caller rendered before", before.caller], ["caller rendered after", after.caller]] as const) {
                    for (const [podLabel, calleePods] of [[`${from} pod`, before.callee], [`${to} pod`, after.callee]] as const) {
                        for (const [policyLabel, policies] of [["old policies", before.callee.objects], ["new policies", after.callee.objects]] as const) {
                            problems.push(...dropped(caller, calleePods, policies, `${callerLabel} → ${podLabel} under ${policyLabel}`));
                        }
                    }
                }
                assert.deepEqual([...new Set(problems)], []);
            });
        }
    }

    it("an envoy caller's address does not depend on the callee's mode, so the callee's switch does not roll the caller", () => {
        const bootstraps = MODE_NAMES.map((mode) => JSON.stringify(bootstrapOf(render("envoy", mode).caller.objects)));
        assert.equal(new Set(bootstraps).size, 1);
    });

    it("the walk can fail (negative control): a caller dialling envoy's sidecar port, as envoy callers did, misses a native pod", () => {
        const { caller, callee } = render("envoy", "native");
        const bootstrap = bootstrapOf(caller.objects);
        for (const cluster of bootstrap.static_resources.clusters) {
            const address = cluster.load_assignment?.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
            if (address?.address.startsWith(`${CALLEE.component}-headless.`)) address.port_value = address.port_value === 8080 ? 15010 : 15011;
        }
        const tampered = { ...caller, objects: caller.objects.map((object) => (object.kind === "ConfigMap" && (object as any).data?.["envoy.json"] ? { ...object, data: { "envoy.json": JSON.stringify(bootstrap) } } : object)) } as Rendered;
        assert.deepEqual(dropped(tampered, callee, callee.objects, "tampered"), [
            "tampered, port http: the pod serves no port 15010",
            "tampered, port db: the pod serves no port 15011",
        ]);
    });
});
