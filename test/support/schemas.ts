import { linkerdCrdGroups, validateAgainstLinkerdCrds } from "./linkerdCrds";

/**
 * Validates emitted Kubernetes, Istio and Linkerd objects against upstream schemas: Kubernetes'
 * OpenAPI (kubernetes-models), Istio's CRD schemas (@kubernetes-models/istio), and Linkerd's CRD
 * chart (policy.linkerd.io and the Gateway API routes it ships; see linkerdCrds.ts). The
 * kubernetes-models packages are ESM-only, so they are loaded with dynamic `import()`.
 */

/** What every manifest has; the rest is checked by the schema. */
export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata?: { name?: string };
}

interface ModelClass {
    new (data: unknown): { validate(): void };
}

/** Module that holds the models of an apiVersion, or undefined when no package covers it. */
function modelModule(apiVersion: string): string | undefined {
    if (apiVersion === "v1") {
        return "kubernetes-models/v1";
    }
    const match = /^([a-z0-9.-]+)\/(v[a-z0-9]+)$/.exec(apiVersion);
    if (match === null) {
        return undefined;
    }
    const [, group, version] = match;
    return group.endsWith(".istio.io") ? `@kubernetes-models/istio/${group}/${version}` : `kubernetes-models/${group}/${version}`;
}

const modules = new Map<string, Promise<Record<string, unknown>>>();

async function loadModule(specifier: string): Promise<Record<string, unknown> | undefined> {
    if (!modules.has(specifier)) {
        modules.set(specifier, import(specifier) as Promise<Record<string, unknown>>);
    }
    try {
        return await modules.get(specifier);
    } catch {
        return undefined;
    }
}

/**
 * Throws `<kind>/<name>: <schema errors>` when the object does not match its upstream schema, and
 * `<kind>/<name>: no schema for apiVersion ...` when no model covers its apiVersion/kind: an object
 * we cannot check is a failure, never a silent pass.
 */
export async function validateManifest(obj: Manifest): Promise<void> {
    const name = `${obj.kind}/${obj.metadata?.name ?? "<unnamed>"}`;
    if (linkerdCrdGroups().has(obj.apiVersion.split("/")[0]!)) {
        validateAgainstLinkerdCrds(obj);
        return;
    }
    const specifier = modelModule(obj.apiVersion);
    const module = specifier === undefined ? undefined : await loadModule(specifier);
    if (module === undefined) {
        throw new Error(`${name}: no schema for apiVersion ${JSON.stringify(obj.apiVersion)}`);
    }
    const model = module[obj.kind] as ModelClass | undefined;
    if (typeof model !== "function" || typeof model.prototype?.validate !== "function") {
        throw new Error(`${name}: no schema for kind ${JSON.stringify(obj.kind)} in ${obj.apiVersion}`);
    }
    try {
        new model(obj).validate();
    } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`);
    }
}
