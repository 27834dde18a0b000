/** GovernedApp and the pure steps before it: planning apps against each other and the platform, and rendering them to manifests. */
export { GovernedApp, type GovernedAppArgs } from "./governedApp";
export { checkApps, planApps, type AppInput, type PlanOptions } from "./plan";
export { renderApp, type RenderedApp, type RenderedObject } from "./render";
