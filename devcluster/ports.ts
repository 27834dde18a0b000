/**
 * Ports for the embedded cluster's components, on 127.0.0.1. The kernel picks each one (listen on
 * port 0) and the allocator keeps that listening socket open, so nobody else (another component,
 * another cluster, a Pulumi plugin) can bind the port while it is held, and a port it handed out
 * is never handed out again. The owner's socket is closed only at handoff, right before the
 * component that binds the port starts. This is envtest's idea, minus its gap: envtest closes the
 * socket as soon as it has the number.
 *
 * May import: node built-ins only.
 */
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

    /** Releases every port whose owner starts with `prefix` (e.g. "etcd." for etcd's client and peer ports). */
    async releaseOwnedBy(prefix: string): Promise<void> {
        await Promise.all([...this.held.keys()].filter((owner) => owner.startsWith(prefix)).map((owner) => this.release(owner)));
    }

    /** Closes every socket still held (on failure, or when done). */
    async releaseAll(): Promise<void> {
        await Promise.all([...this.held.keys()].map((owner) => this.release(owner)));
    }
}
