import { failOnProblems } from "../resources";
import { type Problem, prototypeKeyProblems, zodProblems, buildAppModel, buildDirectory, checkExposures, checkNodePorts, checkNamespaces, linkDependents, sharedNamespaces, type AppModel, type PlacedApp, appSpecSchema, type ModeName, type SecretCatalog, laxer, laxestNeed } from "../model";
import { modeNamed, type Platform } from "../modes";

/** One app to plan: its spec as written, and where it came from. */
export interface AppInput {
    /** The app spec as written (YAML parsed, or a TypeScript object); validated here. */
    spec: unknown;
    /** Mode chosen for this app by the stack; wins over the spec's own `mode`. @default the spec's `mode`, then `defaultMode` */
    mode?: ModeName;
    /** Where the spec came from, used as the prefix of every problem key. @default `app[<index>]` */
    source?: string;
    /** The secret values (names only) the app's `{ secret: <name> }` references may use. @default not checked (a peer rendered elsewhere) */
    secrets?: SecretCatalog;
}

export interface PlanOptions {
    platform: Platform;
    /** Mode of apps that choose none. @default "native" */
    defaultMode?: ModeName;
    /** mTLS of apps that choose none. @default "PERMISSIVE" */
    defaultMtls?: "STRICT" | "PERMISSIVE";
}

/** Validates and models apps without throwing: every problem in every app, and the models when there are none. */
export function checkApps(inputs: readonly AppInput[], options: PlanOptions): { apps: AppModel[]; problems: Problem[] } {
    const problems: Problem[] = [];
    const placed: PlacedApp[] = [];
    inputs.forEach((input, index) => {
        const source = input.source ?? `app[${index}]`;
        const keyOf = (path: string) => `${source}: ${path || "(top level)"}`;
        const prototypeKeys = prototypeKeyProblems(input.spec, keyOf);
        const parsed = appSpecSchema.safeParse(input.spec, { reportInput: true });
        if (prototypeKeys.length > 0) {
            problems.push(...prototypeKeys);
            return;
        }
        if (!parsed.success) {
            // hideDocument: a file that is not an app spec at all (a scalar, a list) is never shown, only its kind.
            problems.push(...zodProblems(parsed.error, keyOf, { schema: appSpecSchema, hideDocument: true }));
            return;
        }
        placed.push({ spec: parsed.data, mode: input.mode ?? parsed.data.mode ?? options.defaultMode ?? "native", source, secrets: input.secrets });
    });
    const { directory, problems: directoryProblems } = buildDirectory(placed);
    problems.push(...directoryProblems);
    // The mesh's own namespaces are as off-limits to apps as Kubernetes' system namespaces.
    const meshNamespaces = [options.platform.istio?.namespace, options.platform.linkerd?.namespace].filter((namespace): namespace is string => namespace !== undefined);
    problems.push(...checkNamespaces(placed, meshNamespaces), ...checkExposures(placed), ...checkNodePorts(placed));
    const shared = sharedNamespaces(placed);
    const apps = placed.map((app) => {
        const { model, problems: appProblems } = buildAppModel(app, directory, options.defaultMtls ?? "PERMISSIVE");
        problems.push(...appProblems);
        return { ...model, retainNamespace: shared.has(model.namespace) };
    });
    linkDependents(apps);
    for (const app of apps) problems.push(...modeNamed(app.mode).requirements(app, options.platform));
    problems.push(...settlePodSecurity(apps, placed, options.platform));
    return { apps, problems };
}

/**
 * Each app's Pod Security need becomes the laxest of everything its namespace holds (the modes'
 * additions and the components of every app there), since one label governs the namespace. An
 * enforced level that an app would not pass is refused here, before any pod is refused later.
 */
function settlePodSecurity(apps: AppModel[], placed: readonly PlacedApp[], platform: Platform): Problem[] {
    const own = apps.map((app) => laxestNeed([modeNamed(app.mode).podSecurity(platform), app.podSecurity]));
    const problems: Problem[] = [];
    apps.forEach((app, index) => {
        app.podSecurity = laxestNeed(own.filter((_, other) => apps[other]!.namespace === app.namespace));
        const enforced = platform.podSecurity.enforce;
        if (enforced !== "auto" && laxer(enforced, own[index]!.level) !== enforced) {
            problems.push({
                key: `${placed[index]!.source}: (pod security)`,
                message: `app "${app.name}" needs level "${own[index]!.level}" (${own[index]!.reason}), but podSecurity.enforce is "${enforced}": the API server would refuse its pods; set podSecurity.enforce to "${own[index]!.level}" or "auto"`,
            });
        }
    });
    return problems;
}

/**
 * Validates app specs against each other and the platform and returns their models. Throws a
 * ConfigError listing every problem at once; call it before registering any resource.
 */
export function planApps(inputs: readonly AppInput[], options: PlanOptions): AppModel[] {
    const { apps, problems } = checkApps(inputs, options);
    failOnProblems(problems);
    return apps;
}
