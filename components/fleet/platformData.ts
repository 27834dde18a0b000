import { z } from "zod";
import { dnsLabel, dnsSubdomain, imageReference, ipv4Cidr, labelKey, labelValue, NETWORK_POLICY_LEVELS, POD_SECURITY_LEVELS, ruleString } from "../model";
import { LINKERD_INBOUND_POLICIES, type Platform } from "../modes";
import { resolvePlatform, type GovernedAppPlatformArgs } from "../app";
import type { IstioControlPlane } from "../istio";
import type { Observability } from "../observability";
import { prometheusPeer } from "../observability";

/**
 * The `platform` output of a platform stack: what app stacks' modes consume, as plain JSON data
 * (no Pulumi outputs, no secrets). Versioned by `schema`, so a reader refuses a shape it does not
 * know instead of misreading it.
 */

/** The version of the `platform` and `peers` outputs this library writes and reads. */
export const FLEET_SCHEMA_VERSION = 1;

/** The platform as another stack reads it: the platform the modes read, plus the schema version and whether it is a production platform. */
export interface PlatformData extends Platform {
    schema: typeof FLEET_SCHEMA_VERSION;
    /** A production platform: its Istio and Linkerd refuse plaintext callers of STRICT apps unless allowed (already written into `istio` and `linkerd`). */
    production: boolean;
}

/** What {@link platformData} builds the `platform` output from: the platform components themselves, or their plain descriptions. */
export interface PlatformDataArgs extends Omit<GovernedAppPlatformArgs, "istio"> {
    /** The Istio control plane: the component, or `istioPlatform(...)` for one installed elsewhere. @default none */
    istio?: IstioControlPlane | GovernedAppPlatformArgs["istio"];
    /** Observability: its Prometheus is admitted by the apps' NetworkPolicies on sidecar metrics ports (overrides `prometheus`). @default none */
    observability?: Observability;
    /** Marks a production platform (informational for readers; the refusals it implies are set on `istio` and `linkerd`). @default false */
    production?: boolean;
}

function isControlPlane(istio: PlatformDataArgs["istio"]): istio is IstioControlPlane {
    return istio !== undefined && "platform" in istio;
}

/**
 * The exportable `platform` data of a platform stack's own components:
 *
 * ```ts
 * const istio = new IstioControlPlane("istio", { gateway: { enabled: true } });
 * export const platform = platformData({ istio, networkPolicies: "ingress+egress" });
 * ```
 *
 * Every default is applied (an app stack reads exactly what this stack's apps would use), and the
 * result is plain JSON: the control plane's readiness resource is left out, since an app stack
 * deploys after the platform stack.
 */
export function platformData(args: PlatformDataArgs = {}): PlatformData {
    const { istio, observability, production = false, ...rest } = args;
    const platform = resolvePlatform({
        ...rest,
        istio: isControlPlane(istio) ? istio.platform : istio,
        ...(observability ? { prometheus: prometheusPeer(observability.namespace) } : {}),
    });
    return plainJson({ schema: FLEET_SCHEMA_VERSION, production, ...platform });
}

/** A JSON copy: `undefined` fields dropped, as a stack output stores them. */
export function plainJson<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}

// ── Reading it back: another stack's output is hostile input ──────────────────────────────────────

const MAX_LABELS = 64;

const labels = z
    .record(ruleString(labelKey), ruleString(labelValue))
    .refine((value) => Object.keys(value).length <= MAX_LABELS, { error: `expected at most ${MAX_LABELS} labels` });

/** An Istio principal: `<trust domain>/ns/<namespace>/sa/<service account>`. */
const principal = z
    .string()
    .max(400)
    .regex(/^[a-z0-9.-]+\/ns\/[a-z0-9-]+\/sa\/[a-z0-9.-]+$/, { error: 'expected an Istio principal "<trust domain>/ns/<namespace>/sa/<service account>"' });

const schemaVersion = z.literal(FLEET_SCHEMA_VERSION, { error: (issue) => `expected ${FLEET_SCHEMA_VERSION} (the version this program reads), given ${JSON.stringify(issue.input) ?? "nothing"}; update the program of one of the two stacks` });

/** The schema of {@link PlatformData}, strict: an unknown field is refused, not ignored. */
export const platformDataSchema = z.strictObject({
    schema: schemaVersion,
    production: z.boolean(),
    clusterDomain: ruleString(dnsSubdomain),
    trustDomain: ruleString(dnsSubdomain),
    istio: z
        .strictObject({
            namespace: ruleString(dnsLabel),
            revision: ruleString(labelValue).optional(),
            trustDomain: ruleString(dnsSubdomain),
            podInjectionLabels: labels,
            namespaceInjectionLabels: labels,
            gateway: z.strictObject({ namespace: ruleString(dnsLabel), selector: labels, principal }).optional(),
            refusePlaintextCallers: z.boolean().optional(),
        })
        .optional(),
    linkerd: z
        .strictObject({
            namespace: ruleString(dnsLabel),
            defaultInboundPolicy: z.enum(LINKERD_INBOUND_POLICIES).optional(),
            proxyAwait: z.boolean().optional(),
            refusePlaintextCallers: z.boolean().optional(),
        })
        .optional(),
    ingressClassName: ruleString(dnsSubdomain).optional(),
    ingressController: z.boolean().optional(),
    envoyImage: ruleString(imageReference),
    networkPolicies: z.enum(NETWORK_POLICY_LEVELS),
    prometheus: z.strictObject({ namespace: ruleString(dnsLabel).optional(), podSelector: labels.optional(), ipBlock: ruleString(ipv4Cidr).optional() }).optional(),
    podSecurity: z.strictObject({ enforce: z.enum(["auto", ...POD_SECURITY_LEVELS]), warn: z.enum(POD_SECURITY_LEVELS), audit: z.enum(POD_SECURITY_LEVELS) }),
});

/** The platform the modes read, from validated {@link PlatformData} (the schema version and the production flag dropped). */
export function platformOfData(data: PlatformData): Platform {
    const { schema: _schema, production: _production, ...platform } = data;
    return platform;
}
