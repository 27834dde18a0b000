import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { createCertificateAuthority, createClusterPki, issueCertificate, PKI_FILES, writeClusterPki, type ClusterPki, type KeyPair } from "../devcluster/pki";

/**
 * The embedded cluster's in-process PKI (devcluster/pki.ts), checked by what Node's OpenSSL makes
 * of it: chains, names, usages, and real TLS handshakes that verify the server by its IP SAN and
 * the client by its purpose.
 */

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

/** A TLS server with `server`'s certificate that asks for a client certificate signed by `caPem`; answers with whether the client was authorized. */
async function handshake(server: KeyPair, caPem: string, client: { ca: string; cert?: KeyPair; servername?: string }): Promise<{ clientError?: string; serverSawClient?: boolean; serverError?: string }> {
    const httpsServer = https.createServer({ cert: server.certPem, key: server.keyPem, ca: caPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
        const socket = req.socket as tls.TLSSocket;
        res.end(JSON.stringify({ authorized: socket.authorized, error: socket.authorizationError ? String(socket.authorizationError) : undefined }));
    });
    await new Promise<void>((resolve) => httpsServer.listen(0, "127.0.0.1", resolve));
    try {
        const port = (httpsServer.address() as AddressInfo).port;
        return await new Promise((resolve) => {
            const req = https.request(
                { host: "127.0.0.1", port, path: "/", ca: client.ca, cert: client.cert?.certPem, key: client.cert?.keyPem, servername: client.servername, agent: false },
                (res) => {
                    let body = "";
                    res.on("data", (chunk: Buffer) => (body += chunk.toString()));
                    res.on("end", () => {
                        const answer = JSON.parse(body) as { authorized: boolean; error?: string };
                        resolve({ serverSawClient: answer.authorized, serverError: answer.error });
                    });
                },
            );
            req.on("error", (error: NodeJS.ErrnoException) => resolve({ clientError: error.code ?? error.message }));
            req.end();
        });
    } finally {
        await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
    }
}

describe("devcluster PKI", function () {
    let pki: ClusterPki;
    let ca: X509Certificate;
    const cert = (pair: KeyPair): X509Certificate => new X509Certificate(pair.certPem);

    before(async function () {
        pki = await createClusterPki(new Date("2026-12-03T10:00:00Z"));
        ca = new X509Certificate(pki.ca.certPem);
    });

    it("makes a self-signed CA that may sign certificates", function () {
        assert.equal(ca.subject, "CN=pluggable-mesh-local-ca");
        assert.equal(ca.issuer, "CN=pluggable-mesh-local-ca");
        assert.equal(ca.ca, true);
        assert.equal(ca.checkIssued(ca), true);
        assert.equal(ca.verify(ca.publicKey), true);
        assert.equal(ca.checkPrivateKey(createPrivateKey(pki.ca.keyPem)), true);
        // Back-dated by an hour against clock skew; ten years long.
        assert.equal(new Date(ca.validFrom).toISOString(), "2026-12-03T09:00:00.000Z");
        assert.equal(new Date(ca.validTo).toISOString(), "2036-11-30T10:00:00.000Z");
    });

    it("issues the API server's serving certificate for loopback and every name of the kubernetes Service", function () {
        const apiserver = cert(pki.apiserver);
        assert.equal(apiserver.subject, "CN=kube-apiserver");
        assert.equal(apiserver.issuer, "CN=pluggable-mesh-local-ca");
        assert.equal(apiserver.ca, false);
        assert.equal(apiserver.checkIssued(ca), true);
        assert.equal(apiserver.verify(ca.publicKey), true);
        assert.equal(
            apiserver.subjectAltName,
            "DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP Address:127.0.0.1, IP Address:10.96.0.1",
        );
        assert.deepEqual(apiserver.keyUsage, [SERVER_AUTH]);
        assert.equal(apiserver.checkHost("kubernetes.default.svc"), "kubernetes.default.svc");
        assert.equal(apiserver.checkIP("10.96.0.1"), "10.96.0.1");
        assert.equal(apiserver.checkPrivateKey(createPrivateKey(pki.apiserver.keyPem)), true);
    });

    it("issues the front-proxy client certificate (client use only, no names) and istiod's webhook serving certificate", function () {
        const frontProxy = cert(pki.frontProxyClient);
        assert.equal(frontProxy.subject, "CN=front-proxy-client");
        assert.equal(frontProxy.checkIssued(ca), true);
        assert.deepEqual(frontProxy.keyUsage, [CLIENT_AUTH]);
        assert.equal(frontProxy.subjectAltName, undefined);

        const istiod = cert(pki.istiod);
        assert.equal(istiod.subject, "CN=istiod.istio-system.svc");
        assert.equal(istiod.checkIssued(ca), true);
        assert.equal(istiod.verify(ca.publicKey), true);
        assert.equal(istiod.subjectAltName, "DNS:localhost, DNS:istiod.istio-system.svc, IP Address:127.0.0.1");
        assert.deepEqual(istiod.keyUsage, [SERVER_AUTH]);
    });

    it("gives every certificate its own key and serial number, and a service-account key pair that belongs together", function () {
        const certificates = [pki.ca, pki.apiserver, pki.frontProxyClient, pki.istiod].map(cert);
        assert.equal(new Set(certificates.map((c) => c.serialNumber)).size, 4);
        assert.equal(new Set(certificates.map((c) => c.publicKey.export({ type: "spki", format: "pem" }))).size, 4);
        const derived = createPublicKey(createPrivateKey(pki.serviceAccount.privateKeyPem)).export({ type: "spki", format: "pem" });
        assert.equal(derived, pki.serviceAccount.publicKeyPem);
        assert.match(pki.serviceAccount.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    });

    it("does not chain to a different CA (negative control)", async function () {
        const stranger = await createCertificateAuthority("someone-else");
        const strangerCa = new X509Certificate(stranger.certPem);
        assert.equal(cert(pki.apiserver).checkIssued(strangerCa), false);
        assert.equal(cert(pki.apiserver).verify(strangerCa.publicKey), false);
    });

    it("serves TLS that a client trusting only the CA accepts at 127.0.0.1, and rejects with another CA", async function () {
        const ok = await handshake(pki.apiserver, pki.ca.certPem, { ca: pki.ca.certPem, cert: pki.frontProxyClient });
        assert.deepEqual(ok, { serverSawClient: true, serverError: undefined });
        const stranger = await createCertificateAuthority("someone-else");
        const rejected = await handshake(pki.apiserver, pki.ca.certPem, { ca: stranger.certPem });
        assert.deepEqual(rejected, { clientError: "SELF_SIGNED_CERT_IN_CHAIN" });
    });

    it("is refused as a client certificate where only server use is allowed, and as a server where the name is not in its SANs", async function () {
        // The istiod serving certificate has serverAuth only: OpenSSL refuses it for a client.
        const wrongPurpose = await handshake(pki.apiserver, pki.ca.certPem, { ca: pki.ca.certPem, cert: pki.istiod });
        assert.deepEqual(wrongPurpose, { serverSawClient: false, serverError: "INVALID_PURPOSE" });
        // Connecting by a name the certificate does not carry.
        const leaf = await issueCertificate(pki.ca, { commonName: "only-dns", usage: "server", dnsNames: ["only-dns.example"] });
        const wrongName = await handshake(leaf, pki.ca.certPem, { ca: pki.ca.certPem });
        assert.deepEqual(wrongName, { clientError: "ERR_TLS_CERT_ALTNAME_INVALID" });
    });

    it("writes the files the components read, private keys readable by the owner only", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pm-pki-"));
        try {
            const files = writeClusterPki(path.join(dir, "pki"), pki);
            assert.deepEqual(fs.readdirSync(path.join(dir, "pki")).sort(), Object.values(PKI_FILES).sort());
            assert.equal(fs.readFileSync(files.caCert, "utf8"), pki.ca.certPem);
            assert.equal(fs.statSync(files.caKey).mode & 0o777, 0o600);
            assert.equal(fs.statSync(files.istiodKey).mode & 0o777, 0o600);
            assert.equal(fs.statSync(files.apiserverCert).mode & 0o777, 0o644);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
