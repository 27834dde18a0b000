import assert from "node:assert/strict";
import { injectorConfigMapName, istiodProcessSpec, podToRun, wholeCpus, type LocalIstiodConfig, type Pod } from "../devcluster/localIstiod";

/**
 * The embedded cluster's stand-in kubelet for istiod (devcluster/localIstiod.ts): how a pod of the
 * istiod chart becomes a local command. The integration suite runs it against the real chart.
 */

const config: LocalIstiodConfig = {
    server: "https://127.0.0.1:6443",
    caCertFile: "/c/pki/ca.crt",
    adminTokenFile: "/c/pki/admin.token",
    pilotDiscovery: "/tools/pilot-discovery",
    servingCertFile: "/c/pki/istiod.crt",
    servingKeyFile: "/c/pki/istiod.key",
    workDir: "/c/istiod",
    logFile: "/c/logs/pilot-discovery.log",
    ports: { http: 1001, webhooks: 1002, grpc: 1003, secureGrpc: 1004, monitoring: 1005 },
};

/** The shape of the istiod chart's pod (its `discovery` container's args and env). */
function istiodPod(overrides: Partial<Pod["metadata"]> = {}, limits?: Record<string, string>): Pod {
    return {
        metadata: { name: "istiod-7c9f-abcde", namespace: "istio-system", uid: "uid-1", creationTimestamp: "2026-11-25T10:00:00Z", ...overrides },
        spec: {
            nodeName: "kwok-node-0",
            serviceAccountName: "istiod",
            containers: [
                {
                    name: "discovery",
                    args: ["discovery", "--monitoringAddr=:15014", "--log_output_level=default:info", "--domain", "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"],
                    env: [
                        { name: "REVISION", value: "default" },
                        { name: "PILOT_CERT_PROVIDER", value: "istiod" },
                        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                        { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                        { name: "SERVICE_ACCOUNT", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
                        { name: "KUBECONFIG", value: "/var/run/secrets/remote/config" },
                        { name: "GOMAXPROCS", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1" } } },
                        // The chart writes `value: ""`; the API server stores it without the value.
                        { name: "PLATFORM" },
                    ],
                    resources: limits ? { limits } : {},
                },
            ],
        },
    };
}

describe("the local istiod launcher", () => {
    it("runs the pod's own args, then moves every server to loopback with the cluster's certificate", () => {
        const spec = istiodProcessSpec(istiodPod(), config, "/c/istiod/kubeconfig");
        assert.deepEqual(spec.args, [
            "discovery",
            "--monitoringAddr=:15014",
            "--log_output_level=default:info",
            "--domain",
            "cluster.local",
            "--keepaliveMaxServerConnectionAge",
            "30m",
            "--kubeconfig=/c/istiod/kubeconfig",
            "--httpAddr=127.0.0.1:1001",
            "--httpsAddr=127.0.0.1:1002",
            "--grpcAddr=127.0.0.1:1003",
            "--secureGRPCAddr=127.0.0.1:1004",
            // Later than the pod's :15014, so it wins.
            "--monitoringAddr=127.0.0.1:1005",
            "--tlsCertFile=/c/pki/istiod.crt",
            "--tlsKeyFile=/c/pki/istiod.key",
            "--caCertFile=/c/pki/ca.crt",
        ]);
    });

    it("resolves the env as the kubelet would, with the ServiceAccount's kubeconfig", () => {
        const spec = istiodProcessSpec(istiodPod({}, { cpu: "1500m" }), config, "/c/istiod/kubeconfig");
        assert.deepEqual(spec.env, {
            REVISION: "default",
            PILOT_CERT_PROVIDER: "istiod",
            POD_NAME: "istiod-7c9f-abcde",
            POD_NAMESPACE: "istio-system",
            SERVICE_ACCOUNT: "istiod",
            KUBECONFIG: "/c/istiod/kubeconfig",
            GOMAXPROCS: "2",
            PLATFORM: "",
        });
        assert.deepEqual(spec.skipped, []);
        // Without a CPU limit GOMAXPROCS is left to Go, as the node's CPU count would be.
        assert.equal(istiodProcessSpec(istiodPod(), config, "k").env.GOMAXPROCS, undefined);
    });

    it("lists env it cannot resolve instead of inventing values", () => {
        const pod = istiodPod();
        pod.spec.containers[0]!.env!.push({ name: "HOST_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }, { name: "SECRET", valueFrom: {} });
        assert.deepEqual(istiodProcessSpec(pod, config, "k").skipped, ["HOST_IP (fieldRef status.hostIP)", "SECRET (valueFrom)"]);
    });

    it("restarts for a new pod or a changed spec, not for a new status", () => {
        const key = istiodProcessSpec(istiodPod(), config, "k").key;
        assert.equal(istiodProcessSpec({ ...istiodPod(), metadata: { ...istiodPod().metadata, annotations: { a: "b" } } }, config, "k").key, key);
        assert.notEqual(istiodProcessSpec(istiodPod({ uid: "uid-2" }), config, "k").key, key);
        const changed = istiodPod();
        changed.spec.containers[0]!.env![0] = { name: "REVISION", value: "canary" };
        assert.notEqual(istiodProcessSpec(changed, config, "k").key, key);
    });

    it("runs the newest scheduled pod that is not being deleted", () => {
        const old = istiodPod({ name: "old", creationTimestamp: "2026-11-25T10:00:00Z" });
        const fresh = istiodPod({ name: "new", creationTimestamp: "2026-11-25T11:00:00Z" });
        const leaving = istiodPod({ name: "leaving", creationTimestamp: "2026-11-25T12:00:00Z", deletionTimestamp: "2026-11-25T12:01:00Z" });
        const unscheduled = istiodPod({ name: "pending", creationTimestamp: "2026-11-25T13:00:00Z" });
        delete unscheduled.spec.nodeName;
        assert.equal(podToRun([old, fresh, leaving, unscheduled])?.metadata.name, "new");
        assert.equal(podToRun([leaving, unscheduled]), undefined);
    });

    it("finds the injection template's ConfigMap by revision, as istiod does", () => {
        assert.equal(injectorConfigMapName(undefined), "istio-sidecar-injector");
        assert.equal(injectorConfigMapName("default"), "istio-sidecar-injector");
        assert.equal(injectorConfigMapName("1-30-5"), "istio-sidecar-injector-1-30-5");
    });

    it("reads CPU limits in whole CPUs, rounding up", () => {
        assert.deepEqual(["2", "1500m", "100m", "0.5", undefined, "lots"].map(wholeCpus), [2, 2, 1, 1, undefined, undefined]);
    });
});
