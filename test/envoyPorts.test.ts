import assert from "node:assert/strict";
import { planApps } from "../components/app";
import { PLATFORM_DEFAULTS } from "../components/modes";
import { assignLocalPorts, LOWEST_LOCAL_PORT } from "../components/modes/envoy";

/**
 * Where an envoy-mode app dials its dependencies on 127.0.0.1. The sidecar runs as a non-root user
 * with no capabilities, so it cannot bind a port below 1024 on runtimes with Linux's default
 * unprivileged port range: those dependencies get a port from the fallback range instead.
 */
function localPorts(dependencyPorts: number[], ownPorts: number[] = []): number[] {
    const [app] = planApps(
        [
            {
                mode: "envoy",
                spec: {
                    name: "shop",
                    components: [
                        {
                            name: "web",
                            image: "ghcr.io/acme/web:1.0.0",
                            ports: ownPorts.map((port, index) => ({ name: `own-${index}`, port })),
                            dependsOn: dependencyPorts.map((_, index) => `dep${index}`),
                        },
                        ...dependencyPorts.map((port, index) => ({ name: `dep${index}`, image: "ghcr.io/acme/dep:1.0.0", ports: [{ name: "http", port }] })),
                    ],
                },
            },
        ],
        { platform: { ...PLATFORM_DEFAULTS } },
    );
    return assignLocalPorts(app!.components[0]!);
}

describe("envoy mode's local ports", function () {
    it("keeps a dependency's own unprivileged port, so the app dials what it would dial without a mesh", function () {
        assert.deepEqual(localPorts([8080, 3306]), [8080, 3306]);
    });

    it("never hands out a port below 1024: port 80 and 443 dependencies move to the fallback range", function () {
        const ports = localPorts([80, 443, 1024]);
        assert.deepEqual(ports, [20000, 20001, 1024]);
        assert.ok(ports.every((port) => port >= LOWEST_LOCAL_PORT));
    });

    it("skips ports the app listens on and never repeats a port", function () {
        assert.deepEqual(localPorts([8080, 8080, 9090], [8080]), [20000, 20001, 9090]);
    });
});
