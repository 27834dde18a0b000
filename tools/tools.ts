import { execFileSync } from "node:child_process";
import * as path from "node:path";

/** The project's root folder, for every script. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/**
 * Runs tools/tools.sh for some targets (it builds what is missing, reusing its cache) and
 * returns the `NAME=path` lines it prints, as a map. Its progress goes to our stderr.
 */
export function runToolsScript(targets: readonly string[]): Record<string, string> {
    const output = execFileSync("bash", [path.join(PROJECT_ROOT, "tools", "tools.sh"), ...targets], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const values: Record<string, string> = {};
    for (const line of output.split("\n")) {
        const match = /^([A-Z_]+)=(.*)$/.exec(line);
        if (match) values[match[1]!] = match[2]!;
    }
    return values;
}
