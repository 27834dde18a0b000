/**
 * The synthetic fleet both benchmarks deploy (`npm run bench` on the mock engine, `npm run
 * bench:engine` on the real one): apps of ten components; each component calls the next two in its
 * app; every fifth keeps state (a volume claim).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import type { ModeName } from "../components/model";

export const COMPONENTS_PER_APP = 10;

/** App `index` of a fleet, with `count` components (ten, fewer for the last app of an odd size). */
export function fleetApp(index: number, count: number = COMPONENTS_PER_APP): { name: string; components: Record<string, unknown>[] } {
    const components = Array.from({ length: count }, (_, component) => ({
        name: `svc-${component}`,
        image: "docker.io/library/nginx:1.27.3",
        ports: [{ name: "http", port: 8080, protocol: "http" }],
        dependsOn: [component + 1, component + 2].filter((next) => next < count).map((next) => `svc-${next}`),
        ...(component % 5 === 4 ? { storage: { size: "1Gi", mountPath: "/data" } } : {}),
    }));
    return { name: `app-${index}`, components };
}

/**
 * Writes the app specs of `size` components into `dir` (inside the project: stacks refuse spec
 * paths outside it), numbering apps from `firstApp` so that the parts of a fleet split into
 * several stacks keep distinct names. Returns the files.
 */
export function writeFleet(size: number, dir: string, firstApp = 0): string[] {
    const files: string[] = [];
    for (let first = 0; first < size; first += COMPONENTS_PER_APP) {
        const app = fleetApp(firstApp + first / COMPONENTS_PER_APP, Math.min(COMPONENTS_PER_APP, size - first));
        const file = path.join(dir, `${app.name}.yaml`);
        fs.writeFileSync(file, stringify(app));
        files.push(file);
    }
    return files;
}

/** Stack config (full `pluggable-mesh:` keys, values as the engine hands them over) of a fleet in `mode`. */
export function fleetConfig(mode: ModeName, files: string[]): Record<string, string> {
    return {
        "pluggable-mesh:mode": mode,
        "pluggable-mesh:istio": JSON.stringify({ controlPlane: "existing" }),
        "pluggable-mesh:linkerd": JSON.stringify({ controlPlane: "existing" }),
        "pluggable-mesh:apps": JSON.stringify(files.map((spec) => ({ spec }))),
    };
}
