import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { given } from "../components/model";

/**
 * Paths in stack config arrive in pull requests: each must stay inside the folders it may name
 * (the project root, and for a few keys one more folder), after following symlinks, or it is
 * refused before anything reads it.
 */

/**
 * The tools cache that tools/tools.sh fills from pinned sources (`PLUGGABLE_MESH_TOOLS`, else
 * `${XDG_CACHE_HOME:-~/.cache}/pluggable-mesh/tools`, the rule tools.sh itself uses). The engine
 * points `istio.localChartsDir` at the Istio charts there.
 */
export function toolsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
    return env.PLUGGABLE_MESH_TOOLS || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "pluggable-mesh", "tools");
}

/** The real path of `target`, or of its nearest existing ancestor with the rest appended (for folders not created yet). */
function realPathOf(target: string): string {
    let existing = target;
    const rest: string[] = [];
    for (;;) {
        try {
            return path.join(fs.realpathSync(existing), ...rest.reverse());
        } catch {
            const parent = path.dirname(existing);
            if (parent === existing) return target;
            rest.push(path.basename(existing));
            existing = parent;
        }
    }
}

function isInside(child: string, parent: string): boolean {
    const relative = path.relative(parent, child);
    return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/** Where a config path may point: the folders, and how a message names them. */
export interface PathRoots {
    folders: readonly string[];
    /** E.g. "inside the project". */
    description: string;
}

/**
 * Resolves a path from config (relative to the project root) and checks that it stays inside one
 * of `roots` after symlinks are followed. Returns the absolute path, or a message naming only the
 * clipped value (never the resolved path, which may reveal the machine's layout).
 */
export function resolveConfigPath(value: string, projectRoot: string, roots: PathRoots): { path: string } | { problem: string } {
    if (value.includes("\0")) return { problem: `${given(value)} is not a path; use a path ${roots.description}` };
    const absolute = path.resolve(projectRoot, value);
    const real = realPathOf(absolute);
    const allowed = roots.folders.some((folder) => isInside(real, realPathOf(path.resolve(folder))));
    return allowed ? { path: absolute } : { problem: `${given(value)} leads outside the allowed folders (symlinks followed); use a path ${roots.description}` };
}
