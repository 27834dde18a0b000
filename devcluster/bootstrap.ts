/**
 * The objects the embedded cluster starts with, created through the API server: the default
 * StorageClass `standard` with a static pool of hostPath PersistentVolumes (no provisioner,
 * `volumeBindingMode: Immediate`: the controller manager's binder binds claims to them, nothing is
 * mounted, released volumes are not reused), and the fake Nodes that kwok manages.
 *
 * May import: node built-ins and devcluster's http.ts and components/kwok.ts (the node annotation).
 */
import * as path from "node:path";
import type { Response } from "./http";
import { KWOK_NODE_ANNOTATION } from "./components/kwok";

export const STORAGE_CLASS = "standard";
/** @default 8 × 10Gi and 4 × 100Gi */
export const DEFAULT_VOLUMES: readonly string[] = [...Array<string>(8).fill("10Gi"), ...Array<string>(4).fill("100Gi")];

export const nodeNames = (count: number): string[] => Array.from({ length: count }, (_, index) => `kwok-node-${index}`);

type Api = (method: string, apiPath: string, body?: unknown) => Promise<Response>;

/** Creates an object; one that already exists is fine. */
async function create(api: Api, apiPath: string, body: unknown): Promise<void> {
    const response = await api("POST", apiPath, body);
    if (response.status !== 201 && response.status !== 409) throw new Error(`POST ${apiPath}: HTTP ${response.status}: ${response.body}`);
}

export function storageClass(): unknown {
    return {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: { name: STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
        provisioner: "kubernetes.io/no-provisioner",
        volumeBindingMode: "Immediate",
        reclaimPolicy: "Retain",
    };
}

export function persistentVolume(index: number, size: string, volumesDir: string): unknown {
    const name = `local-pv-${String(index).padStart(2, "0")}`;
    return {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name, labels: { "pluggable-mesh.dev/local-cluster": "true" } },
        spec: {
            capacity: { storage: size },
            accessModes: ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"],
            persistentVolumeReclaimPolicy: "Retain",
            storageClassName: STORAGE_CLASS,
            volumeMode: "Filesystem",
            hostPath: { path: path.join(volumesDir, name), type: "DirectoryOrCreate" },
        },
    };
}

export function fakeNode(name: string): unknown {
    return {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
            name,
            annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
        },
        spec: {},
        status: {
            allocatable: { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "1Ti" },
            capacity: { cpu: "32", memory: "256Gi", pods: "110", "ephemeral-storage": "1Ti" },
            nodeInfo: { architecture: "amd64", operatingSystem: "linux", kubeletVersion: "fake", kubeProxyVersion: "fake" },
        },
    };
}

/** The StorageClass, the volume pool and the fake Nodes. */
export async function bootstrapObjects(api: Api, options: { volumes: readonly string[]; volumesDir: string; nodes: readonly string[] }): Promise<void> {
    await create(api, "/apis/storage.k8s.io/v1/storageclasses", storageClass());
    await Promise.all(options.volumes.map((size, index) => create(api, "/api/v1/persistentvolumes", persistentVolume(index, size, options.volumesDir))));
    await Promise.all(options.nodes.map((name) => create(api, "/api/v1/nodes", fakeNode(name))));
}
