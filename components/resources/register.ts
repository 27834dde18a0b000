import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { Manifest } from "../model";

type Constructor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** Typed classes for the kinds we emit; anything else (Istio objects) is a CustomResource. */
const TYPED: Record<string, Constructor> = {
    "v1/Namespace": k8s.core.v1.Namespace,
    "v1/ServiceAccount": k8s.core.v1.ServiceAccount,
    "v1/Service": k8s.core.v1.Service,
    "v1/ConfigMap": k8s.core.v1.ConfigMap,
    "v1/Secret": k8s.core.v1.Secret,
    "apps/v1/Deployment": k8s.apps.v1.Deployment,
    "apps/v1/StatefulSet": k8s.apps.v1.StatefulSet,
    "networking.k8s.io/v1/Ingress": k8s.networking.v1.Ingress,
    "autoscaling/v2/HorizontalPodAutoscaler": k8s.autoscaling.v2.HorizontalPodAutoscaler,
    "policy/v1/PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
    "batch/v1/Job": k8s.batch.v1.Job,
    "batch/v1/CronJob": k8s.batch.v1.CronJob,
    "networking.k8s.io/v1/NetworkPolicy": k8s.networking.v1.NetworkPolicy,
};

/** Registers a plain manifest as the matching Pulumi Kubernetes resource. */
export function registerManifest(name: string, manifest: Manifest, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const typed = TYPED[`${manifest.apiVersion}/${manifest.kind}`];
    if (typed) {
        const { apiVersion: _apiVersion, kind: _kind, ...args } = manifest;
        return new typed(name, args, opts);
    }
    return new k8s.apiextensions.CustomResource(name, manifest, opts);
}
