/**
 * kwok, the kubelet of the fake Nodes: it manages the Nodes annotated {@link KWOK_NODE_ANNOTATION}
 * and plays their lifecycle and their pods' through stages. The stages are upstream's node and pod
 * stages of the pinned release (tools/tools.sh takes them from the kwok module) with two changes:
 * the pod-ready stage waits, for pods a local process runs (istiod's, see localIstiod.ts), until
 * that process is ready; and a stage gives every LoadBalancer Service the address 127.0.0.1, so
 * Pulumi's wait for an address ends as on a cloud. Ready when every fake Node is Ready.
 *
 * May import: node built-ins, yaml, devcluster's component.ts and localIstiod.ts's pod contract.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { LOOPBACK, renderFlags, runsBinary, DEFAULT_START_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, type ClusterContext, type Component, type Flags } from "../component";
import { ISTIOD_POD_SELECTOR, LOCAL_PROCESS_ANNOTATION } from "../localIstiod";

/** Fake nodes are those kwok manages: it selects them by this annotation. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

export interface KwokStage {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: {
        resourceRef: { apiGroup: string; kind: string };
        selector: { matchExpressions: { key: string; operator: string; values?: string[] }[] };
        next: Record<string, unknown>;
    };
}

/** Upstream's stages (YAML documents) with our two changes; throws when the pod-ready stage is missing. */
export function kwokStages(upstreamYaml: string, source: string): KwokStage[] {
    const stages = parseAllDocuments(upstreamYaml).map((document) => document.toJS() as KwokStage);
    const podReady = stages.find((stage) => stage.metadata.name === "pod-ready");
    if (!podReady) throw new Error(`${source} has no pod-ready stage; rebuild it with tools/tools.sh kwok`);
    const labels = Object.entries(ISTIOD_POD_SELECTOR)
        .map(([key, value]) => `.metadata.labels.${key} == ${JSON.stringify(value)}`)
        .join(" and ");
    podReady.spec.selector.matchExpressions.push({
        key: `if (${labels}) then (.metadata.annotations[${JSON.stringify(LOCAL_PROCESS_ANNOTATION)}] // "starting") else "ready" end`,
        operator: "In",
        values: ["ready"],
    });
    stages.push({
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "Stage",
        metadata: { name: "service-load-balancer" },
        spec: {
            resourceRef: { apiGroup: "v1", kind: "Service" },
            selector: {
                matchExpressions: [
                    { key: ".spec.type", operator: "In", values: ["LoadBalancer"] },
                    { key: ".status.loadBalancer.ingress", operator: "DoesNotExist" },
                ],
            },
            next: { statusTemplate: 'loadBalancer:\n  ingress:\n  - ip: "127.0.0.1"\n    ipMode: VIP\n' },
        },
    });
    return stages;
}

const stagesFile = (context: ClusterContext): string => path.join(context.layout.kwokHome, "stages.yaml");

export function kwokFlags(context: ClusterContext): Flags {
    const port = context.port("kwok.server");
    return {
        kubeconfig: context.kubeconfigs.kwok,
        config: stagesFile(context),
        "manage-all-nodes": "false",
        "manage-nodes-with-annotation-selector": `${KWOK_NODE_ANNOTATION}=fake`,
        // The address fake nodes report (the API server dials it for logs/exec): kwok's own server.
        "node-ip": LOOPBACK,
        "node-port": String(port),
        "server-address": `${LOOPBACK}:${port}`,
        cidr: "10.244.0.0/16",
        "node-lease-duration-seconds": "40",
    };
}

interface NodeList {
    items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

export const kwok: Component = {
    name: "kwok",
    ports: ["server"],
    startTimeoutMs: DEFAULT_START_TIMEOUT_MS,
    stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
    runs: runsBinary("kwok"),
    prepare(context) {
        fs.mkdirSync(context.layout.kwokHome, { recursive: true, mode: 0o700 });
        const stages = kwokStages(fs.readFileSync(context.tools.kwokStages, "utf8"), context.tools.kwokStages);
        fs.writeFileSync(stagesFile(context), stages.map((stage) => stringify(stage)).join("---\n"));
    },
    command: (context, overrides) => ({
        binary: context.tools.kwok,
        args: renderFlags(kwokFlags(context), overrides),
        // kwok also reads ~/.kwok/kwok.yaml when it exists; give it a home of its own.
        env: { HOME: context.layout.kwokHome },
    }),
    ready: {
        description: "every fake Node became Ready",
        async check(context) {
            const response = await context.api("GET", "/api/v1/nodes");
            if (response.status !== 200) return false;
            const nodes = (JSON.parse(response.body) as NodeList).items;
            return context.nodeNames.every((name) =>
                nodes.some((node) => node.metadata.name === name && (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")),
            );
        },
    },
};
