/** GovernedApp and the pure steps before it: planning apps against each other and the platform, and rendering them to manifests. */
export { GovernedApp, resolvePlatform, type AppPeer, type GovernedAppArgs, type GovernedAppPlatformArgs } from "./governedApp";
export { checkApps, planApps, type AppInput, type PlanOptions } from "./plan";
export { renderApp, type RenderedApp, type RenderedObject } from "./render";
