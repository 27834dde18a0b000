import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Locks that a killed engine left in the embedded file backend. The file backend locks a stack
 * for each operation with a file naming the engine's host and process id, and deletes it at the
 * end; an engine killed mid-operation (SIGKILL, out of memory, power loss) never does, and every
 * later command then fails with "the stack is currently locked ... delete the lock file with
 * `pulumi cancel`" (docs/engine.md, "Checkpoints"). A lock made on this machine by a process that
 * no longer runs is such a leftover: it is deleted. Any other lock (a running engine, another
 * machine, a file this code cannot read) is left for the engine to report.
 */

/** What the engine writes into a lock file (pkg/backend/diy/lock.go). */
interface LockContent {
    pid: number;
    hostname: string;
    timestamp: string;
}

/** The folder of a stack's lock files in a file backend at `stateDir` (project-scoped layout). */
export function lockDir(stateDir: string, project: string, stack: string): string {
    return path.join(stateDir, ".pulumi", "locks", "organization", project, stack);
}

function running(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: it runs, as another user.
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

function readLock(file: string): LockContent | undefined {
    try {
        const content = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LockContent>;
        return Number.isSafeInteger(content.pid) && typeof content.hostname === "string" ? (content as LockContent) : undefined;
    } catch {
        return undefined;
    }
}

/** Deletes the stack's locks left by engines of this machine that no longer run; returns what they said. */
export function releaseStaleLocks(stateDir: string, project: string, stack: string): LockContent[] {
    const dir = lockDir(stateDir, project, stack);
    if (!fs.existsSync(dir)) return [];
    const released: LockContent[] = [];
    for (const name of fs.readdirSync(dir).filter((file) => file.endsWith(".json"))) {
        const lock = readLock(path.join(dir, name));
        if (!lock || lock.hostname !== os.hostname() || running(lock.pid)) continue;
        fs.rmSync(path.join(dir, name), { force: true });
        released.push(lock);
    }
    return released;
}
