import type { AppModel } from "../components/model";

/**
 * The indexes of the apps that app `index` must see as peers: those it calls, those that call it,
 * and those sharing its namespace (one Pod Security label and one retained Namespace serve them
 * all). A GovernedApp derives addresses, authorization and its namespace's settings from exactly
 * these; every other app of the stack changes nothing in what it renders. Handing each app only
 * these keeps the program linear in the number of apps (every GovernedApp validates and models its
 * peers again), while the checks across the whole stack (names, namespaces, hosts, node ports) stay
 * where they are: loadStack runs them once on every app together.
 *
 * `apps` are the models loadStack made of the whole stack, so their dependents are linked across apps.
 */
export function relatedAppIndexes(apps: readonly AppModel[], index: number): number[] {
    const self = apps[index]!;
    const related = new Set<string>();
    for (const component of self.components) {
        for (const dependency of component.dependencies) related.add(dependency.target.app);
        for (const dependent of component.dependents) related.add(dependent.app);
    }
    return apps.flatMap((app, other) => (other !== index && (related.has(app.name) || app.namespace === self.namespace) ? [other] : []));
}
