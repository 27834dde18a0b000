/** A Kubernetes object as plain data. */
export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [field: string]: unknown;
}

/** An extra object a mode emits, with a key that stays the same when its content (and maybe its name) changes. */
export interface ExtraObject {
    /** Unique per kind within the app; becomes part of the Pulumi resource name. */
    key: string;
    manifest: Manifest;
}

/** Extra objects keyed by their own name, for objects whose name never changes. */
export function keyedByName(manifests: readonly Manifest[]): ExtraObject[] {
    return manifests.map((manifest) => ({ key: manifest.metadata.name, manifest }));
}
