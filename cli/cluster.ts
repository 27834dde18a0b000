/**
 * `npm run cluster:start|stop|status`: the embedded cluster (devcluster/) from the command line.
 *
 *   tsx cli/cluster.ts start [--foreground]   start (or report the running one); in the foreground,
 *                                             Ctrl-C / SIGTERM stops it
 *   tsx cli/cluster.ts stop                   stop by the recorded PIDs and clean up (idempotent)
 *   tsx cli/cluster.ts status                 each component's PID and state (exit 3: not running)
 *   tsx cli/cluster.ts kubeconfig             print the kubeconfig's path
 */
import { componentStatus, DEFAULT_CLUSTER_DIR, defaultLog, runningCluster, startCluster, stopCluster } from "../devcluster/cluster";
import { parseCommandLine, runCommand, UsageError } from "./command";

const COMMAND = {
    usage: `usage: tsx cli/cluster.ts start [--foreground] | stop | status | kubeconfig
  (npm run cluster:start | cluster:stop | cluster:status)
  start [--foreground]  start the embedded cluster (or report the running one)
  stop                  stop it and clean up (idempotent)
  status                each component's PID and state (exit 3: not running)
  kubeconfig            print the kubeconfig's path (exit 3: not running)`,
    allowPositionals: true,
    options: { foreground: { type: "boolean", default: false } },
} as const;

async function main(argv: readonly string[]): Promise<number> {
    const { positionals, values } = parseCommandLine(COMMAND, argv);
    const [command, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0]).slice(0, 60)}`);
    if (values.foreground && command !== "start") throw new UsageError("--foreground goes with start only");
    const dir = DEFAULT_CLUSTER_DIR;
    switch (command) {
        case "start": {
            const foreground = values.foreground;
            const running = runningCluster(dir);
            if (running) {
                defaultLog(`already running at ${running.server} (pids ${Object.values(running.pids).join(", ")})`);
                console.log(`KUBECONFIG=${running.kubeconfig}`);
                return 0;
            }
            const cluster = await startCluster({ dir, detach: !foreground });
            console.log(`KUBECONFIG=${cluster.kubeconfig}`);
            if (!foreground) {
                defaultLog("running in the background; `npm run cluster:stop` stops it");
                return 0;
            }
            defaultLog("running in the foreground; Ctrl-C stops it");
            await new Promise<void>((resolve) => {
                const onSignal = (signal: NodeJS.Signals): void => {
                    defaultLog(`${signal}: stopping`);
                    resolve();
                };
                process.once("SIGINT", onSignal);
                process.once("SIGTERM", onSignal);
                process.once("SIGHUP", onSignal);
            });
            await cluster.stop();
            return 0;
        }
        case "stop":
            await stopCluster(dir);
            defaultLog(`stopped (logs kept in ${componentStatus(dir).logs})`);
            return 0;
        case "status": {
            for (const { name, pid, log } of componentStatus(dir).components) {
                console.log(`${name.padEnd(24)} ${pid === undefined ? "stopped" : `running (pid ${pid})`}  log: ${log}`);
            }
            const running = runningCluster(dir);
            if (running) console.log(`server: ${running.server}\nkubeconfig: ${running.kubeconfig}`);
            return running ? 0 : 3;
        }
        case "kubeconfig": {
            const running = runningCluster(dir);
            if (!running) {
                defaultLog("no cluster is running; `npm run cluster:start` starts one");
                return 3;
            }
            console.log(running.kubeconfig);
            return 0;
        }
        default:
            throw new UsageError(command === undefined ? "no command given" : `unknown command ${JSON.stringify(command).slice(0, 60)}`);
    }
}

if (require.main === module) runCommand(COMMAND, main);
