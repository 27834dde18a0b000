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

async function main(argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    const dir = DEFAULT_CLUSTER_DIR;
    switch (command) {
        case "start": {
            const foreground = rest.includes("--foreground");
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
            process.stderr.write("usage: tsx cli/cluster.ts start [--foreground] | stop | status | kubeconfig\n");
            return 2;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error: unknown) => {
            defaultLog(`error: ${(error as Error).message}`);
            process.exit(1);
        },
    );
}
