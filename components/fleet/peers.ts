import { z } from "zod";
import { appSpecSchema, modeSchema, namespaceOf, parseDependencyRef, zodProblems, type AppSpecInput } from "../model";
import { failOnProblems } from "../resources";
import type { AppPeer } from "../app";
import { FLEET_SCHEMA_VERSION, plainJson } from "./platformData";

/**
 * The `peers` output of a stack with apps: each app as another stack's apps see it. A peer view is
 * the part of an app spec that decides its callers' addresses and its callees' authorization
 * (names, namespace, ports, traffic policy, versions, exposure, who it calls, the Pod Security it
 * needs in a shared namespace) with its mode and mTLS. Environment values, config and secret
 * files, commands, probes, resources and storage are never in it.
 */

/** The `peers` output: the stack's apps as peers, versioned like the platform. */
export interface PeersData {
    schema: typeof FLEET_SCHEMA_VERSION;
    apps: AppPeer[];
}

type ComponentInput = AppSpecInput["components"][number];
type DependencyInput = NonNullable<ComponentInput["dependsOn"]>[number];

/**
 * Who a component calls, each as `app/component[:port]`: a peer reads them out of context, so an
 * app's own components are named with the app, and the app's externals (outside every stack) are
 * left out.
 */
function qualifiedDependencies(app: string, externals: ReadonlySet<string>, dependsOn: readonly DependencyInput[] = []): string[] {
    const targets = dependsOn.flatMap((dependency) => {
        const target = typeof dependency === "string" ? dependency : dependency.target;
        const ref = parseDependencyRef(target);
        if (ref.app === undefined && externals.has(ref.component)) return [];
        return [`${ref.app ?? app}/${ref.component}${ref.port === undefined ? "" : `:${ref.port}`}`];
    });
    return [...new Set(targets)];
}

/** The part of one component a peer needs. */
function componentView(app: string, externals: ReadonlySet<string>, component: ComponentInput): ComponentInput {
    const capabilities = component.securityContext?.capabilities?.add ?? [];
    const view: ComponentInput = {
        name: component.name,
        // An image is required of a valid spec; it tells a peer nothing secret.
        image: component.image,
        version: component.version,
        ports: component.ports,
        dependsOn: qualifiedDependencies(app, externals, component.dependsOn),
        traffic: component.traffic,
        expose: component.expose,
        publish: component.publish,
        versions: component.versions?.map(({ name, image }) => ({ name, image })),
        // What decides the Pod Security level of a namespace the peer shares.
        securityExemption: component.securityExemption,
        securityContext: capabilities.length > 0 ? { capabilities: { add: capabilities } } : undefined,
    };
    return view;
}

/**
 * An app as a peer in another stack: its spec cut to what peers need (see {@link PeersData}), with
 * its namespace, createNamespace and mTLS written out so the reader applies no defaults of its own.
 * The spec is validated first: a peer view is only made of a valid app.
 */
export function peerView(peer: AppPeer, defaultMtls: "STRICT" | "PERMISSIVE" = "PERMISSIVE"): AppPeer {
    const parsed = appSpecSchema.safeParse(peer.spec);
    if (!parsed.success) failOnProblems(zodProblems(parsed.error, (at) => `peer ${JSON.stringify(String((peer.spec as { name?: unknown }).name))}: ${at || "(top level)"}`, { schema: appSpecSchema, hideDocument: true }));
    const spec = parsed.data!;
    const written = peer.spec;
    const externals = new Set(spec.externals.map((external) => external.name));
    return plainJson({
        mode: peer.mode ?? "native",
        spec: {
            name: spec.name,
            namespace: namespaceOf(spec),
            createNamespace: spec.createNamespace,
            mtls: spec.mtls ?? defaultMtls,
            traffic: written.traffic,
            components: written.components.map((component) => componentView(spec.name, externals, component)),
        },
    });
}

/** The `peers` output of a stack's apps. */
export function peersData(apps: readonly AppPeer[], defaultMtls?: "STRICT" | "PERMISSIVE"): PeersData {
    return { schema: FLEET_SCHEMA_VERSION, apps: apps.map((app) => peerView(app, defaultMtls)) };
}

// ── Reading it back: another stack's output is hostile input ──────────────────────────────────────

/** The most apps one stack's `peers` output may list. */
export const MAX_PEER_APPS = 1000;

const componentSchema = appSpecSchema.shape.components.element;
const versionSchema = componentSchema.shape.versions.unwrap().element;
const dependencyTarget = componentSchema.shape.dependsOn.unwrap().element.options[0];

const peerComponentSchema = componentSchema.pick({ name: true, image: true, version: true, ports: true, traffic: true, expose: true, publish: true, securityExemption: true }).extend({
    dependsOn: z.array(dependencyTarget).default([]),
    versions: z.array(versionSchema.pick({ name: true, image: true })).min(1).optional(),
    securityContext: z.strictObject({ capabilities: componentSchema.shape.securityContext.unwrap().shape.capabilities }).optional(),
});

const peerSpecSchema = appSpecSchema.pick({ name: true, namespace: true, createNamespace: true, mtls: true, traffic: true }).extend({
    components: z.array(peerComponentSchema).min(1),
});

/** The schema of {@link PeersData}, strict: only the fields a peer view has. */
export const peersDataSchema = z.strictObject({
    schema: z.literal(FLEET_SCHEMA_VERSION, {
        error: (issue) => `expected ${FLEET_SCHEMA_VERSION} (the version this program reads), given ${JSON.stringify(issue.input) ?? "nothing"}; update the program of one of the two stacks`,
    }),
    apps: z.array(z.strictObject({ mode: modeSchema, spec: peerSpecSchema })).max(MAX_PEER_APPS),
});
