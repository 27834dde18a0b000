import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { request } from "../devcluster/http";

/**
 * Ties a stack's state to the cluster it was deployed to. `npm run cluster:stop` discards the
 * embedded cluster's data, so a state made for it outlives its objects: the next cluster is a new
 * one with the same kubeconfig path. The record (next to the backend's state, like the stack's
 * salt) names the cluster by the UID of its `kube-system` Namespace, which a new cluster never
 * shares, so the commands can say what happened instead of trusting a stale state.
 */

export interface ClusterRecord {
    /** The state's objects live in the embedded cluster (devcluster/). */
    embedded: boolean;
    /** That cluster's data directory. */
    clusterDir?: string;
    /** API server URL when recorded. */
    server: string;
    /** UID of the cluster's kube-system Namespace: the cluster's identity. */
    kubeSystemUid: string;
}

function recordFile(stateDir: string, stack: string): string {
    return path.join(stateDir, "config", `${stack}.cluster.json`);
}

export function readClusterRecord(stateDir: string, stack: string): ClusterRecord | undefined {
    try {
        const record = JSON.parse(fs.readFileSync(recordFile(stateDir, stack), "utf8")) as Partial<ClusterRecord>;
        if (typeof record.kubeSystemUid !== "string" || typeof record.server !== "string") return undefined;
        return { embedded: record.embedded === true, clusterDir: typeof record.clusterDir === "string" ? record.clusterDir : undefined, server: record.server, kubeSystemUid: record.kubeSystemUid };
    } catch {
        return undefined;
    }
}

export function writeClusterRecord(stateDir: string, stack: string, record: ClusterRecord): void {
    fs.mkdirSync(path.dirname(recordFile(stateDir, stack)), { recursive: true });
    fs.writeFileSync(recordFile(stateDir, stack), `${JSON.stringify(record, null, 2)}\n`);
}

export function forgetClusterRecord(stateDir: string, stack: string): void {
    fs.rmSync(recordFile(stateDir, stack), { force: true });
}

/** Server, CA and bearer token of a kubeconfig like the embedded cluster's (one cluster, one token user). */
function tokenKubeconfig(kubeconfig: string): { server: string; ca: string; token: string } {
    const document = parseYaml(fs.readFileSync(kubeconfig, "utf8")) as {
        clusters?: { cluster?: { server?: string; "certificate-authority-data"?: string } }[];
        users?: { user?: { token?: string } }[];
    };
    const cluster = document.clusters?.[0]?.cluster;
    const token = document.users?.[0]?.user?.token;
    if (!cluster?.server || !cluster["certificate-authority-data"] || !token) throw new Error(`${kubeconfig} is not a token kubeconfig of the embedded cluster`);
    return { server: cluster.server, ca: Buffer.from(cluster["certificate-authority-data"], "base64").toString("utf8"), token };
}

/** GET of an API path on the embedded cluster behind a kubeconfig: status and parsed body. */
export type ApiReader = (apiPath: string) => Promise<{ status: number; body: any }>;

export function embeddedApiReader(kubeconfig: string): ApiReader {
    const { server, ca, token } = tokenKubeconfig(kubeconfig);
    return async (apiPath) => {
        const response = await request(`${server}${apiPath}`, { ca, token, timeoutMs: 15_000 });
        let body: unknown;
        try {
            body = JSON.parse(response.body);
        } catch {
            body = undefined;
        }
        return { status: response.status, body };
    };
}

/** An object the state lists, by the fields that find it in the cluster. */
export interface StateObject {
    apiVersion: string;
    kind: string;
    namespace?: string;
    name: string;
    uid?: string;
}

/** What reading the state's objects back found. */
export interface ObjectCheck {
    /** Objects not in the cluster. */
    missing: StateObject[];
    /** Objects of the same name but another UID: deleted and made again outside this stack. */
    replaced: StateObject[];
    /** How many objects were read. */
    read: number;
}

/**
 * Reads each object through the API server: discovery (once per group version) gives each kind's
 * resource path, then one GET per object, a few at a time.
 */
export async function readBack(objects: readonly StateObject[], get: ApiReader): Promise<ObjectCheck> {
    const discovery = new Map<string, Promise<{ name: string; kind: string; namespaced: boolean }[]>>();
    const resourcesOf = (apiVersion: string) => {
        if (!discovery.has(apiVersion)) {
            const apiPath = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
            discovery.set(
                apiVersion,
                get(apiPath).then(({ status, body }) => (status === 200 ? ((body?.resources ?? []) as { name: string; kind: string; namespaced: boolean }[]).filter((resource) => !resource.name.includes("/")) : [])),
            );
        }
        return discovery.get(apiVersion)!;
    };
    const missing: StateObject[] = [];
    const replaced: StateObject[] = [];
    const check = async (object: StateObject): Promise<void> => {
        const resource = (await resourcesOf(object.apiVersion)).find((candidate) => candidate.kind === object.kind);
        if (!resource) {
            missing.push(object); // The cluster does not even serve the kind (its CRD is gone).
            return;
        }
        const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
        const where = resource.namespaced && object.namespace ? `/namespaces/${encodeURIComponent(object.namespace)}` : "";
        const { status, body } = await get(`${base}${where}/${resource.name}/${encodeURIComponent(object.name)}`);
        if (status === 404) missing.push(object);
        else if (status !== 200) throw new Error(`reading ${object.kind} ${object.name}: HTTP ${status}`);
        else if (object.uid && body?.metadata?.uid !== object.uid) replaced.push(object);
    };
    const queue = [...objects];
    await Promise.all(Array.from({ length: 8 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await check(next);
    }));
    const order = (a: StateObject, b: StateObject) => describeObject(a).localeCompare(describeObject(b));
    return { missing: missing.sort(order), replaced: replaced.sort(order), read: objects.length };
}

/** `Kind namespace/name`, as messages name an object. */
export function describeObject(object: StateObject): string {
    return `${object.kind} ${object.namespace ? `${object.namespace}/` : ""}${object.name}`;
}

/** The identity of the embedded cluster behind a kubeconfig: its kube-system Namespace's UID, read from the API server. */
export async function embeddedClusterIdentity(kubeconfig: string): Promise<{ server: string; kubeSystemUid: string }> {
    const { server, ca, token } = tokenKubeconfig(kubeconfig);
    const response = await request(`${server}/api/v1/namespaces/kube-system`, { ca, token });
    if (response.status !== 200) throw new Error(`reading namespace kube-system from ${server}: HTTP ${response.status}`);
    const uid = (JSON.parse(response.body) as { metadata?: { uid?: string } }).metadata?.uid;
    if (!uid) throw new Error(`namespace kube-system on ${server} has no UID`);
    return { server, kubeSystemUid: uid };
}
