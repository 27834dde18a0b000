/**
 * Runs the embedded cluster's processes: starts each component as the leader of its own process
 * group (so its children, such as the local istiod's pilot-discovery, go with it) with its output
 * in `<dir>/logs/<name>.log` and its PID in `<dir>/pids/<name>.pid`; waits for its readiness probe
 * and fails fast, with the end of its log, when it exits first; stops components in reverse order
 * with SIGTERM and, after the component's stop timeout, SIGKILL; and, unless the cluster is
 * detached, stops everything when this process exits or is interrupted. A PID counts as a
 * component's only while its command line is the component's, so a recycled PID is never ours.
 *
 * May import: node built-ins and devcluster's component.ts and layout.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import type { ClusterContext, Command, Component, ComponentName } from "./component";
import { logFile, pidFile, type Layout } from "./layout";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a PID is a live (not zombie) process; on Linux, when `component` is given, also that it runs that component. */
export function alive(pid: number, component?: Pick<Component, "runs">): boolean {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        if (state === "Z" || state === "X") return false;
        if (component && !component.runs(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"))) return false;
        return true;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
        // No /proc (not Linux): ask the kernel.
        try {
            process.kill(pid, 0);
            return true;
        } catch {
            return false;
        }
    }
}

export function readPid(l: Layout, name: ComponentName): number | undefined {
    try {
        const pid = Number.parseInt(fs.readFileSync(pidFile(l, name), "utf8").trim(), 10);
        return Number.isInteger(pid) ? pid : undefined;
    } catch {
        return undefined;
    }
}

/** The recorded PIDs that still run their component. */
export function livePids(l: Layout, components: readonly Component[]): Partial<Record<ComponentName, number>> {
    const result: Partial<Record<ComponentName, number>> = {};
    for (const component of components) {
        const pid = readPid(l, component.name);
        if (pid !== undefined && alive(pid, component)) result[component.name] = pid;
    }
    return result;
}

/** The last lines of a log, indented, for error messages. */
export function tail(file: string, lines = 15): string {
    try {
        const text = fs.readFileSync(file, "utf8").trimEnd().split("\n");
        return text.slice(-lines).map((line) => `    ${line}`).join("\n");
    } catch {
        return "    (no log)";
    }
}

/** Signals a process group (each component leads one); the group may already be gone. */
function signalGroup(pid: number, name: NodeJS.Signals): void {
    try {
        process.kill(-pid, name);
    } catch {
        // Already gone: nothing to signal.
    }
}

/** Stops the recorded components in reverse order (SIGTERM, then SIGKILL after each one's stop timeout) and removes their PID files. Idempotent. */
export async function stopComponents(l: Layout, components: readonly Component[], log: (message: string) => void): Promise<void> {
    for (const component of [...components].reverse()) {
        const pid = readPid(l, component.name);
        if (pid !== undefined && alive(pid, component)) {
            signalGroup(pid, "SIGTERM");
            const deadline = Date.now() + component.stopTimeoutMs;
            while (alive(pid) && Date.now() < deadline) await sleep(50);
            if (alive(pid)) {
                log(`${component.name} (pid ${pid}) did not stop within ${component.stopTimeoutMs / 1000} s of SIGTERM; sending SIGKILL`);
                signalGroup(pid, "SIGKILL");
                while (alive(pid)) await sleep(50);
            }
            // Whatever the leader left behind in its group.
            signalGroup(pid, "SIGKILL");
        }
        fs.rmSync(pidFile(l, component.name), { force: true });
    }
}

/** Synchronous last resort (process exit, signals): SIGTERM to every recorded live component. */
function terminateSync(l: Layout, components: readonly Component[]): void {
    for (const component of [...components].reverse()) {
        const pid = readPid(l, component.name);
        if (pid !== undefined && alive(pid, component)) signalGroup(pid, "SIGTERM");
    }
}

/**
 * Stops the components when this process ends: on exit (synchronously, SIGTERM only) and on
 * SIGINT/SIGTERM/SIGHUP (then the signal's usual effect, unless someone else handles it).
 * Returns a function that removes the hooks.
 */
export function installExitHooks(l: Layout, components: readonly Component[]): () => void {
    const onExit = (): void => terminateSync(l, components);
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        const handler = (): void => {
            terminateSync(l, components);
            remove();
            // Nobody else listens: behave as if we had not been here.
            if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        };
        handlers.set(signal, handler);
        process.on(signal, handler);
    }
    process.on("exit", onExit);
    function remove(): void {
        process.removeListener("exit", onExit);
        for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    }
    return remove;
}

export interface SupervisorOptions {
    /** Working directory of every component. */
    cwd: string;
    /** The environment every component starts from; a command's own `env` is added to it. */
    baseEnv: NodeJS.ProcessEnv;
    /** Leave the processes running when this process exits (they are not waited for). @default false */
    detach?: boolean;
}

/** The processes of one cluster start. */
export class Supervisor {
    private readonly children = new Map<ComponentName, ChildProcess>();
    private readonly exits = new Map<ComponentName, string>();

    constructor(
        private readonly l: Layout,
        private readonly options: SupervisorOptions,
    ) {}

    /** Starts a component's command as a process-group leader, with an IPC channel when asked (to hand it sockets). */
    start(component: Component, command: Command, options: { ipc?: boolean } = {}): ChildProcess {
        const log = logFile(this.l, component.name);
        const out = fs.openSync(log, "a");
        let child: ChildProcess;
        try {
            child = spawn(command.binary, command.args, {
                cwd: this.options.cwd,
                env: { ...this.options.baseEnv, ...command.env },
                stdio: options.ipc ? ["ignore", out, out, "ipc"] : ["ignore", out, out],
                detached: true,
            });
        } finally {
            fs.closeSync(out);
        }
        child.on("exit", (code, signal) => this.exits.set(component.name, signal ? `signal ${signal}` : `exit code ${code}`));
        child.on("error", (error) => this.exits.set(component.name, error.message));
        if (child.pid === undefined) throw new Error(`could not start ${component.name} (${command.binary})`);
        fs.writeFileSync(pidFile(this.l, component.name), `${child.pid}\n`);
        if (this.options.detach) child.unref();
        this.children.set(component.name, child);
        return child;
    }

    /** Why a started component is gone, if it is. */
    exited(name: ComponentName): string | undefined {
        return this.exits.get(name);
    }

    /** The PIDs of the components started so far. */
    pids(): Partial<Record<ComponentName, number>> {
        return Object.fromEntries([...this.children].map(([name, child]) => [name, child.pid!]));
    }

    /**
     * Polls the component's probe until it passes; fails when the component exits first or the
     * timeout passes, quoting the end of its log.
     */
    async waitReady(component: Component, context: ClusterContext, timeoutMs: number = component.startTimeoutMs): Promise<void> {
        const { description } = component.ready;
        const log = logFile(this.l, component.name);
        const deadline = Date.now() + timeoutMs;
        let lastError = "";
        for (;;) {
            const gone = this.exits.get(component.name);
            if (gone) throw new Error(`${component.name} exited (${gone}) before ${description}; its log, ${log}, ends with:\n${tail(log)}`);
            try {
                if (await component.ready.check(context)) return;
                lastError = "";
            } catch (error) {
                lastError = (error as Error).message;
            }
            if (Date.now() > deadline) {
                throw new Error(`${component.name}: ${description} did not happen within ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ""}; see ${log}, which ends with:\n${tail(log)}`);
            }
            await sleep(100);
        }
    }
}
