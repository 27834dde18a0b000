import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { handOverPorts, PortAllocator } from "../devcluster/ports";

/**
 * The embedded cluster's port allocator (devcluster/ports.ts): a port is held open from the moment
 * it is handed out until its component is about to start, so nobody else can take it meanwhile.
 */

/** Tries to bind `port` on 127.0.0.1 in this process; resolves with the error code, or "bound". */
function tryBind(port: number): Promise<string> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve("bound")));
    });
}

/** The same from another process, as another component would. */
function tryBindElsewhere(port: number): string {
    const script = `const s=require("net").createServer();s.once("error",e=>{process.stdout.write(e.code);process.exit(0)});s.listen(${port},"127.0.0.1",()=>{process.stdout.write("bound");s.close()})`;
    return execFileSync(process.execPath, ["-e", script], { encoding: "utf8" });
}

describe("devcluster port allocator", function () {
    let ports: PortAllocator;
    beforeEach(function () {
        ports = new PortAllocator();
    });
    afterEach(async function () {
        await ports.releaseAll();
    });

    it("hands out distinct ports while they are held, and the same port again to the same owner", async function () {
        const owners = Array.from({ length: 40 }, (_, i) => `component-${i}`);
        const reserved = await ports.reserveAll(owners);
        assert.equal(new Set(Object.values(reserved)).size, 40);
        assert.equal(await ports.reserve("component-7"), reserved["component-7"]);
        assert.equal(ports.port("component-7"), reserved["component-7"]);
        for (const owner of owners) assert.equal(ports.isHeld(owner), true);
    });

    it("keeps a held port from being bound by anyone else, in this process or another", async function () {
        const port = await ports.reserve("etcd.client");
        assert.equal(await tryBind(port), "EADDRINUSE");
        assert.equal(tryBindElsewhere(port), "EADDRINUSE");
    });

    it("frees a port at handoff so its component can bind it, and never hands it out again", async function () {
        const port = await ports.reserve("kube-apiserver");
        assert.equal(await ports.release("kube-apiserver"), port);
        assert.equal(ports.isHeld("kube-apiserver"), false);
        assert.equal(tryBindElsewhere(port), "bound");
        // Releasing twice is harmless, and the number stays known.
        assert.equal(await ports.release("kube-apiserver"), port);
        assert.equal(ports.port("kube-apiserver"), port);
        const later = await ports.reserveAll(Array.from({ length: 30 }, (_, i) => `later-${i}`));
        assert.equal(Object.values(later).includes(port), false);
    });

    it("releases by owner prefix and all at once", async function () {
        const reserved = await ports.reserveAll(["etcd.client", "etcd.peer", "kwok.server"]);
        await ports.releaseOwnedBy("etcd.");
        assert.deepEqual([ports.isHeld("etcd.client"), ports.isHeld("etcd.peer"), ports.isHeld("kwok.server")], [false, false, true]);
        assert.equal(await tryBind(reserved["etcd.peer"]), "bound");
        assert.equal(await tryBind(reserved["kwok.server"]), "EADDRINUSE");
        await ports.releaseAll();
        assert.equal(await tryBind(reserved["kwok.server"]), "bound");
    });

    it("hands held sockets to a child process, which then holds the ports (the local istiod's way)", async function () {
        const reserved = await ports.reserveAll(["istiod.webhooks", "istiod.http"]);
        const sockets = { webhooks: ports.transfer("istiod.webhooks")!, http: ports.transfer("istiod.http")! };
        assert.equal(ports.isHeld("istiod.webhooks"), false);
        const script = `require(${JSON.stringify(path.resolve(__dirname, "../devcluster/ports.ts"))}).receivePorts(["webhooks", "http"]).then(() => setInterval(() => {}, 1000))`;
        const child = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
        const exited = new Promise((resolve) => child.once("exit", resolve));
        try {
            await handOverPorts(child, sockets);
            // Our copies are closed; the child's keep both ports taken.
            assert.equal(child.connected, false);
            assert.equal(await tryBind(reserved["istiod.webhooks"]), "EADDRINUSE");
            assert.equal(tryBindElsewhere(reserved["istiod.http"]), "EADDRINUSE");
        } finally {
            child.kill("SIGKILL");
            await exited;
        }
        assert.equal(await tryBind(reserved["istiod.webhooks"]), "bound");
    });

    it("fails a handoff to a child that exits instead of taking its ports, and closes them", async function () {
        const port = await ports.reserve("istiod.grpc");
        const child = spawn(process.execPath, ["-e", "process.exit(3)"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
        await assert.rejects(handOverPorts(child, { grpc: ports.transfer("istiod.grpc")! }), { message: "the process exited before it took its ports" });
        assert.equal(await tryBind(port), "bound");
    });

    it("names the owner when asked for a port it never reserved", function () {
        assert.throws(() => ports.port("istiod.webhooks"), { message: "no port was reserved for istiod.webhooks" });
    });
});
