/**
 * tools/: the Go tools bootstrap. tools.sh builds the pinned Pulumi CLI, Kubernetes provider,
 * istioctl, kube-score, promtool, actionlint and the embedded cluster's binaries from the Go module
 * proxy into a cache; this file finds the project root and reads what tools.sh prints.
 *
 * May import: Node's standard library only (it sits below mocks/, devcluster/, engine/ and cli/,
 * which all use it; it never imports the program or components/).
 */
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
