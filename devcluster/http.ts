/**
 * One HTTP(S) request at a time against the embedded cluster's components on loopback: the API
 * server (bearer token, cluster CA) and the health endpoints of the others.
 *
 * May import: node built-ins only.
 */
import * as http from "node:http";
import * as https from "node:https";

/** What the local cluster's helpers need of an HTTP answer. */
export interface Response {
    status: number;
    body: string;
}

export interface RequestOptions {
    /** @default "GET" */
    method?: string;
    /** Bearer token. @default none */
    token?: string;
    /** PEM CA that signed the server's certificate (https). @default the system's */
    ca?: string;
    /** Skip server certificate checks (health endpoints with self-signed certificates). @default false */
    insecure?: boolean;
    /** Sent as JSON. @default no body */
    body?: unknown;
    /** Content type of the body, e.g. a patch type. @default "application/json" */
    contentType?: string;
    /** @default 5000 */
    timeoutMs?: number;
}

/** One HTTP(S) request against a component on loopback; resolves with any status, rejects on network errors. */
export function request(url: string, options: RequestOptions = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
        const target = new URL(url);
        const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
        const headers: Record<string, string> = { Accept: "application/json" };
        if (options.token) headers.Authorization = `Bearer ${options.token}`;
        if (payload !== undefined) {
            headers["Content-Type"] = options.contentType ?? "application/json";
            headers["Content-Length"] = String(Buffer.byteLength(payload));
        }
        const common = { method: options.method ?? "GET", headers, timeout: options.timeoutMs ?? 5000 };
        const callback = (res: http.IncomingMessage): void => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", reject);
        };
        const req =
            target.protocol === "https:"
                ? https.request(target, { ...common, ca: options.ca, rejectUnauthorized: !options.insecure }, callback)
                : http.request(target, common, callback);
        req.on("timeout", () => req.destroy(new Error(`timeout after ${common.timeout} ms`)));
        req.on("error", reject);
        if (payload !== undefined) req.write(payload);
        req.end();
    });
}
