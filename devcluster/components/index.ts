/**
 * The embedded cluster's components in start order (they stop in reverse): etcd, the control
 * plane, kwok as the fake Nodes' kubelet, and the local istiod launcher.
 *
 * May import: the component files beside it and devcluster/component.ts.
 */
import { COMPONENTS, type Component, type ComponentName } from "../component";
import { etcd } from "./etcd";
import { istiod } from "./istiod";
import { kubeApiserver } from "./kubeApiserver";
import { kubeControllerManager } from "./kubeControllerManager";
import { kubeScheduler } from "./kubeScheduler";
import { kwok } from "./kwok";

const BY_NAME: Record<ComponentName, Component> = {
    etcd,
    "kube-apiserver": kubeApiserver,
    "kube-controller-manager": kubeControllerManager,
    "kube-scheduler": kubeScheduler,
    kwok,
    istiod,
};

/** Every component, in {@link COMPONENTS} order. */
export const CLUSTER_COMPONENTS: readonly Component[] = COMPONENTS.map((name) => BY_NAME[name]);

export { etcd, istiod, kubeApiserver, kubeControllerManager, kubeScheduler, kwok };
export { KWOK_NODE_ANNOTATION } from "./kwok";
