import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { parse as parseYaml, parseAllDocuments } from "yaml";

/**
 * Linkerd's CRDs as its Helm chart `linkerd-crds` ships them, and a validator of our objects
 * against their `openAPIV3Schema`. The chart files are copied unmodified from
 * github.com/linkerd/linkerd2 at tag version-2.20 into test/upstream/linkerd-crds (UPSTREAM.md
 * there names the commit and each file's git blob id; a test checks them). The Go module proxy
 * does not serve that module, so tools/tools.sh cannot fetch it like the Istio module.
 *
 * The templates hold Helm expressions in their metadata and one `if` around the Gateway API
 * CRDs. They are rendered by a minimal substitution of exactly those expressions, with the values
 * Helm would use (Chart.yaml's name and version, the release namespace); any other expression is
 * an error, so an upstream change to the templates cannot slip through unrendered.
 */

export const LINKERD_CRDS_DIR = path.join(__dirname, "..", "upstream", "linkerd-crds");

/** The chart files we keep, relative to the chart's root (UPSTREAM.md lists the same). */
export const LINKERD_CRD_TEMPLATES = [
    "templates/policy/server.yaml",
    "templates/policy/authorization-policy.yaml",
    "templates/policy/meshtls-authentication.yaml",
    "templates/policy/network-authentication.yaml",
    "templates/gateway.networking.k8s.io_grpcroutes.yaml",
    "templates/gateway.networking.k8s.io_httproutes.yaml",
] as const;

export interface ChartValues {
    /** The release namespace: Linkerd's control-plane namespace. */
    releaseNamespace: string;
    /** `installGatewayAPI`: whether the chart installs the Gateway API route CRDs (GRPCRoute, HTTPRoute). */
    installGatewayAPI: boolean;
}

/** The Gateway API guard of the route CRD templates, verbatim. */
const GATEWAY_API_GUARD = '{{- if (ternary .Values.enableHttpRoutes .Values.installGatewayAPI (hasKey .Values "enableHttpRoutes")) }}';
const END = "{{- end }}";

/**
 * Renders one template of the chart: the chart's metadata expressions become their values, the
 * Gateway API guard keeps or drops the whole file. Throws on any other template expression.
 */
export function renderChartTemplate(file: string, text: string, chart: { name: string; version: string }, values: ChartValues): string {
    let body = text;
    if (body.startsWith(GATEWAY_API_GUARD)) {
        if (!body.trimEnd().endsWith(END)) throw new Error(`${file}: the Gateway API guard has no closing {{- end }} at the end of the file`);
        if (!values.installGatewayAPI) return "";
        body = body.slice(GATEWAY_API_GUARD.length, body.trimEnd().length - END.length);
    }
    const substitutions: [string, string][] = [
        // partials.annotations.created-by: `.Values.cliVersion | default (printf "linkerd/helm %s" ...)`; the chart's values set neither.
        ['{{ include "partials.annotations.created-by" . }}', `linkerd.io/created-by: linkerd/helm ${chart.version}`],
        ["{{ .Chart.Name }}", chart.name],
        ['{{ .Chart.Version | replace "+" "_" }}', chart.version.replaceAll("+", "_")],
        ["{{.Release.Namespace}}", values.releaseNamespace],
    ];
    for (const [expression, value] of substitutions) body = body.replaceAll(expression, value);
    const left = /\{\{.*?\}\}/s.exec(body);
    if (left) throw new Error(`${file}: template expression ${left[0].slice(0, 80)} is not rendered by this substitution`);
    return body;
}

export interface CustomResourceDefinition {
    metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
    spec: {
        group: string;
        names: { kind: string; plural: string };
        versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: Record<string, unknown> } }[];
    };
}

/** Every CRD of the kept templates, rendered with the given values. */
export function linkerdCrds(values: ChartValues = { releaseNamespace: "linkerd", installGatewayAPI: true }): CustomResourceDefinition[] {
    const chart = parseYaml(fs.readFileSync(path.join(LINKERD_CRDS_DIR, "Chart.yaml"), "utf8")) as { name: string; version: string };
    return LINKERD_CRD_TEMPLATES.flatMap((file) => {
        const rendered = renderChartTemplate(file, fs.readFileSync(path.join(LINKERD_CRDS_DIR, file), "utf8"), chart, values);
        return parseAllDocuments(rendered)
            .map((document) => {
                if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
                return document.toJS() as CustomResourceDefinition | null;
            })
            .filter((document): document is CustomResourceDefinition => document !== null);
    });
}

/** The same CRDs as one JSON `List`, for `kubectl create -f`. */
export function linkerdCrdsList(values?: ChartValues): string {
    return JSON.stringify({ apiVersion: "v1", kind: "List", items: linkerdCrds(values) });
}

const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/**
 * A CRD schema as plain JSON Schema, as strict as the API server with field validation Strict:
 * unknown fields are errors except under `x-kubernetes-preserve-unknown-fields`,
 * `x-kubernetes-int-or-string` admits both, `nullable` admits null. CEL rules
 * (`x-kubernetes-validations`) cannot be evaluated here: the server-side run checks them.
 */
export function structuralToJsonSchema(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map(structuralToJsonSchema);
    if (schema === null || typeof schema !== "object") return schema;
    const source = schema as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(source)) {
        if (key.startsWith("x-kubernetes-") || key === "description" || key === "default" || key === "nullable") continue;
        if (key === "properties") {
            out[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([name, property]) => [name, structuralToJsonSchema(property)]));
        } else if (key === "items" || key === "additionalProperties" || key === "not" || key === "allOf" || key === "anyOf" || key === "oneOf") {
            out[key] = structuralToJsonSchema(value);
        } else {
            out[key] = value;
        }
    }
    if (source["x-kubernetes-int-or-string"] === true && out["anyOf"] === undefined) out["type"] = ["integer", "string"];
    if (source["nullable"] === true && typeof out["type"] === "string") out["type"] = [out["type"], "null"];
    if (out["properties"] !== undefined && out["additionalProperties"] === undefined && source["x-kubernetes-preserve-unknown-fields"] !== true) {
        out["additionalProperties"] = false;
    }
    return out;
}

function rootSchema(crd: CustomResourceDefinition, version: string, openAPIV3Schema: Record<string, unknown>): Record<string, unknown> {
    const root = structuralToJsonSchema(openAPIV3Schema) as Record<string, any>;
    return {
        ...root,
        required: [...new Set(["apiVersion", "kind", "metadata", ...((root.required as string[] | undefined) ?? [])])],
        properties: {
            ...root.properties,
            apiVersion: { const: `${crd.spec.group}/${version}` },
            kind: { const: crd.spec.names.kind },
            // What the API server checks of every object's metadata that our objects set.
            metadata: {
                type: "object",
                required: ["name"],
                properties: {
                    name: { type: "string", maxLength: 253, pattern: DNS_SUBDOMAIN },
                    namespace: { type: "string", maxLength: 63, pattern: DNS_LABEL },
                    labels: { type: "object", additionalProperties: { type: "string" } },
                    annotations: { type: "object", additionalProperties: { type: "string" } },
                },
            },
        },
    };
}

let defaultCrds: CustomResourceDefinition[] | undefined;
// Formats (int32, date-time) are the API server's to check; the server-side run does.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, validateFormats: false });
const validators = new Map<string, ValidateFunction>();

/** The compiled validator of `group/version/kind` (compiled once, on first use), or undefined when no CRD serves it. */
function validatorOf(apiVersion: string, kind: string): ValidateFunction | undefined {
    const key = `${apiVersion}/${kind}`;
    if (!validators.has(key)) {
        defaultCrds ??= linkerdCrds();
        const crd = defaultCrds.find((candidate) => candidate.spec.names.kind === kind && apiVersion.startsWith(`${candidate.spec.group}/`));
        const version = crd?.spec.versions.find((candidate) => candidate.served && `${crd.spec.group}/${candidate.name}` === apiVersion);
        if (!crd || !version) return undefined;
        validators.set(key, ajv.compile(rootSchema(crd, version.name, version.schema.openAPIV3Schema)));
    }
    return validators.get(key);
}

/** The API groups these CRDs define. */
export function linkerdCrdGroups(): Set<string> {
    defaultCrds ??= linkerdCrds();
    return new Set(defaultCrds.map((crd) => crd.spec.group));
}

function describeErrors(errors: readonly ErrorObject[]): string {
    return errors.map((error) => `data${error.instancePath} ${error.message ?? "is invalid"}${error.keyword === "additionalProperties" ? ` (${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)})` : ""}`).join(", ");
}

/**
 * Throws `<kind>/<name>: <schema errors>` when the object does not match the CRD schema of its
 * apiVersion, and `<kind>/<name>: no served version ...` when the CRDs do not serve it.
 */
export function validateAgainstLinkerdCrds(manifest: { apiVersion: string; kind: string; metadata?: { name?: string } }): void {
    const name = `${manifest.kind}/${manifest.metadata?.name ?? "<unnamed>"}`;
    const validate = validatorOf(manifest.apiVersion, manifest.kind);
    if (!validate) throw new Error(`${name}: Linkerd's CRDs serve no ${manifest.kind} in ${manifest.apiVersion}`);
    if (!validate(manifest)) throw new Error(`${name}: ${describeErrors(validate.errors ?? [])}`);
}
