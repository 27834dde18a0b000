import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** This checkout's root. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export function git(dir: string, ...args: string[]): string {
    return execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * A copy of this checkout's files (tracked and new, not ignored) in a temporary folder, with
 * `node_modules` (and the policy pack's) linked, so a command can run on stack files a test breaks on purpose. Only the
 * stacks listed are kept. Copied rather than linked: a command finds its project root from its
 * own file's real path.
 */
export function scratchProject(stacks: readonly string[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pluggable-mesh-project-"));
    for (const file of git(PROJECT_ROOT, "ls-files", "--cached", "--others", "--exclude-standard").split("\n")) {
        const source = path.join(PROJECT_ROOT, file);
        const stack = /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1];
        if (!file || !fs.existsSync(source) || (stack !== undefined && !stacks.includes(stack))) continue;
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.copyFileSync(source, path.join(dir, file));
    }
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    // The policy pack's own packages (npm ci --prefix policy), which preview and up run.
    const policyModules = path.join(PROJECT_ROOT, "policy", "node_modules");
    if (fs.existsSync(policyModules)) fs.symlinkSync(policyModules, path.join(dir, "policy", "node_modules"), "dir");
    return dir;
}

/** Makes a scratch project a git repository whose `main` holds its files, on a branch `change`. */
export function asRepository(dir: string): void {
    git(dir, "init", "-q", "-b", "main");
    git(dir, "config", "user.email", "ci@example.invalid");
    git(dir, "config", "user.name", "CI");
    git(dir, "add", "-A");
    git(dir, "commit", "-qm", "base");
    git(dir, "checkout", "-qb", "change");
}

export interface CommandRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs `tsx <script> ...args` in a project folder, asynchronously (so several can run at once). */
export function runScript(dir: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CommandRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), [path.join(dir, script), ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** Runs tasks with at most `limit` at a time (the machines have two cores). */
export async function limited<T>(tasks: readonly (() => Promise<T>)[], limit = 2): Promise<T[]> {
    const results: T[] = new Array(tasks.length);
    let next = 0;
    const worker = async () => {
        while (next < tasks.length) {
            const index = next++;
            results[index] = await tasks[index]!();
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    return results;
}
