/**
 * Ports for the embedded cluster's components, on 127.0.0.1. The kernel picks each one (listen on
 * port 0) and the allocator keeps that listening socket open, so nobody else (another component,
 * another cluster, a Pulumi plugin) can bind the port while it is held, and a port it handed out
 * is never handed out again. The owner's socket is closed only at handoff, right before the
 * component that binds the port starts. This is envtest's idea, minus its gap: envtest closes the
 * socket as soon as it has the number.
 *
 * A component that starts its own server process later (the local istiod launcher starts
 * pilot-discovery when istiod's pod appears) receives the held sockets themselves over its IPC
 * channel ({@link handOverPorts}, {@link receivePorts}) and holds them until then.
 *
 * May import: node built-ins only.
 */
import type { ChildProcess } from "node:child_process";
import * as net from "node:net";

const HOST = "127.0.0.1";

function listen(): Promise<net.Server> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        // exclusive: in a cluster worker the socket is not shared with the primary's port pool.
        server.listen({ port: 0, host: HOST, exclusive: true }, () => resolve(server));
    });
}

function close(server: net.Server): Promise<void> {
    return new Promise((resolve) => server.close(() => resolve()));
}

const portOf = (server: net.Server): number => (server.address() as net.AddressInfo).port;

export class PortAllocator {
    /** Open listening sockets by owner. */
    private readonly held = new Map<string, net.Server>();
    /** Every port handed out, held or released, by owner. */
    private readonly ports = new Map<string, number>();

    /** Reserves a port for `owner` (e.g. "etcd.client") and holds it; the same owner gets the same port. */
    async reserve(owner: string): Promise<number> {
        const known = this.ports.get(owner);
        if (known !== undefined) return known;
        const handedOut = new Set(this.ports.values());
        // A released port is free again for the kernel; skip it (its component is about to bind it).
        const rejected: net.Server[] = [];
        try {
            for (;;) {
                const server = await listen();
                const port = portOf(server);
                if (!handedOut.has(port)) {
                    this.held.set(owner, server);
                    this.ports.set(owner, port);
                    return port;
                }
                rejected.push(server);
            }
        } finally {
            await Promise.all(rejected.map(close));
        }
    }

    /** Reserves a port for each owner; all are held at once. */
    async reserveAll<const Owner extends string>(owners: readonly Owner[]): Promise<Record<Owner, number>> {
        const result = {} as Record<Owner, number>;
        for (const owner of owners) result[owner] = await this.reserve(owner);
        return result;
    }

    /** The port reserved for `owner`. */
    port(owner: string): number {
        const port = this.ports.get(owner);
        if (port === undefined) throw new Error(`no port was reserved for ${owner}`);
        return port;
    }

    /** Whether `owner`'s port is still held open by the allocator. */
    isHeld(owner: string): boolean {
        return this.held.has(owner);
    }

    /**
     * Hands `owner`'s port over: closes the held socket so the component can bind it. Call it right
     * before starting the component. Returns the port; releasing twice is harmless.
     */
    async release(owner: string): Promise<number> {
        const port = this.port(owner);
        const server = this.held.get(owner);
        this.held.delete(owner);
        if (server) await close(server);
        return port;
    }

    /**
     * Hands `owner`'s held socket itself over (to pass to a process that holds the port until its
     * own child binds it): the allocator no longer holds or closes it. Undefined when not held.
     */
    transfer(owner: string): net.Server | undefined {
        this.port(owner);
        const server = this.held.get(owner);
        this.held.delete(owner);
        return server;
    }

    /** Releases every port whose owner starts with `prefix` (e.g. "etcd." for etcd's client and peer ports). */
    async releaseOwnedBy(prefix: string): Promise<void> {
        await Promise.all([...this.held.keys()].filter((owner) => owner.startsWith(prefix)).map((owner) => this.release(owner)));
    }

    /** Closes every socket still held (on failure, or when done). */
    async releaseAll(): Promise<void> {
        await Promise.all([...this.held.keys()].map((owner) => this.release(owner)));
    }
}

/** One held socket on its way to a child: its role ("webhooks"); the socket travels as the message's handle. */
interface PortMessage {
    pluggableMeshPort: string;
}
/** The child's answer once it holds every socket it was sent. */
interface PortsHeldMessage {
    pluggableMeshPortsHeld: string[];
}

/**
 * Passes held sockets to a child started with an IPC channel, by role; resolves once the child
 * holds them all, then closes our copies and the channel (the child keeps its own).
 */
export async function handOverPorts(child: ChildProcess, servers: Readonly<Record<string, net.Server>>, timeoutMs = 15_000): Promise<void> {
    const roles = Object.keys(servers);
    try {
        await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => done(new Error(`the process did not take its ports (${roles.join(", ")}) within ${timeoutMs / 1000} s`)), timeoutMs);
            const onMessage = (message: unknown): void => {
                const held = (message as Partial<PortsHeldMessage>)?.pluggableMeshPortsHeld;
                if (held && roles.every((role) => held.includes(role))) done();
            };
            const onExit = (): void => done(new Error("the process exited before it took its ports"));
            function done(error?: Error): void {
                clearTimeout(timer);
                child.removeListener("message", onMessage);
                child.removeListener("exit", onExit);
                if (error) reject(error);
                else resolve();
            }
            child.on("message", onMessage);
            child.once("exit", onExit);
            for (const role of roles) child.send({ pluggableMeshPort: role } satisfies PortMessage, servers[role]!, (error) => error && done(error));
        });
    } finally {
        await Promise.all(Object.values(servers).map(close));
        if (child.connected) child.disconnect();
    }
}

/**
 * In a child started by {@link handOverPorts}: receives the held sockets of `roles` and
 * acknowledges them. Resolves with them by role; undefined at once when there is no IPC channel
 * (started by hand), in which case nothing holds the ports.
 */
export function receivePorts(roles: readonly string[]): Promise<Map<string, net.Server>> | undefined {
    if (!process.send) return undefined;
    return new Promise((resolve) => {
        const received = new Map<string, net.Server>();
        const onMessage = (message: unknown, handle: unknown): void => {
            const role = (message as Partial<PortMessage>)?.pluggableMeshPort;
            if (role === undefined || !(handle instanceof net.Server)) return;
            received.set(role, handle);
            if (roles.every((r) => received.has(r))) {
                process.removeListener("message", onMessage);
                process.send!({ pluggableMeshPortsHeld: [...received.keys()] } satisfies PortsHeldMessage);
                resolve(received);
            }
        };
        process.on("message", onMessage);
    });
}

/** Closes sockets received with {@link receivePorts}: their ports are about to be bound. */
export function closeAll(servers: Iterable<net.Server>): Promise<void> {
    return Promise.all([...servers].map(close)).then(() => undefined);
}
