/**
 * The embedded cluster's certificates, made in-process: one CA, and the leaf certificates the
 * components need (the API server's serving certificate, its front-proxy client certificate, and
 * the local istiod's webhook serving certificate), plus the service-account signing key pair. The
 * CA also serves as istiod's plugged-in mesh CA (devcluster/components/istiod.ts copies it).
 *
 * X.509 certificates are built with @peculiar/x509 over Node's WebCrypto (Node's crypto parses
 * certificates but cannot create them); keys are RSA 2048, written as PKCS#8 PEM, which the
 * API server, the controller manager and istiod all read.
 *
 * May import: node built-ins and @peculiar/x509 (with the reflect-metadata polyfill it needs);
 * nothing else of the project, so it stays testable on its own (test/devclusterPki.test.ts).
 */
// @peculiar/x509 resolves its parsers through tsyringe, which requires the Reflect metadata API.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { KeyObject, randomBytes, webcrypto } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;
const VALID_DAYS = 3650;
/** Certificates start an hour in the past so a small clock skew between processes never makes them "not yet valid". */
const BACKDATE_MS = 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface KeyPair {
    certPem: string;
    keyPem: string;
}

/** A CA that can issue: its PEM files plus the parsed certificate and signing key. */
export interface CertificateAuthority extends KeyPair {
    certificate: x509.X509Certificate;
    signingKey: CryptoKey;
}

/** What a leaf certificate is for: a TLS server (serverAuth) or a TLS client (clientAuth). */
export type Usage = "server" | "client";

export interface CertificateRequest {
    commonName: string;
    usage: Usage;
    /** DNS subject alternative names. @default none */
    dnsNames?: readonly string[];
    /** IP subject alternative names. @default none */
    ipAddresses?: readonly string[];
}

/** The API server's serving names: loopback, and the `kubernetes` Service by every name a pod may use. */
export const APISERVER_SERVING_NAMES = {
    // The first address of --service-cluster-ip-range (10.96.0.0/16) is the `kubernetes` Service's ClusterIP.
    ipAddresses: ["127.0.0.1", "10.96.0.1"],
    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
} as const;

/** istiod's webhook server: the API server calls it at https://127.0.0.1:<port> (see localIstiod.ts). */
export const ISTIOD_SERVING_NAMES = { ipAddresses: ["127.0.0.1"], dnsNames: ["localhost", "istiod.istio-system.svc"] } as const;

/** A positive serial number of 16 random bytes (RFC 5280 allows up to 20), hex. */
function serialNumber(): string {
    const bytes = randomBytes(16);
    bytes[0] = bytes[0]! & 0x7f;
    return bytes.toString("hex");
}

function validity(now: Date): { notBefore: Date; notAfter: Date } {
    return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + VALID_DAYS * 24 * 60 * 60 * 1000) };
}

async function generateKeys(): Promise<CryptoKeyPair> {
    return (await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

function privateKeyPem(key: CryptoKey): string {
    return KeyObject.from(key).export({ type: "pkcs8", format: "pem" }) as string;
}

/** PEM of a certificate, ending in a newline like every other PEM file here. */
function certificatePem(certificate: x509.X509Certificate): string {
    return `${certificate.toString("pem").trimEnd()}\n`;
}

/** A self-signed CA (basicConstraints CA:TRUE, keyCertSign and cRLSign). */
export async function createCertificateAuthority(commonName: string, now: Date = new Date()): Promise<CertificateAuthority> {
    const keys = await generateKeys();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serialNumber(),
        name: `CN=${commonName}`,
        ...validity(now),
        keys,
        signingAlgorithm: ALGORITHM,
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    return { certificate, signingKey: keys.privateKey, certPem: certificatePem(certificate), keyPem: privateKeyPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca`: not a CA, digitalSignature and keyEncipherment, and the request's extended usage and names. */
export async function issueCertificate(ca: CertificateAuthority, request: CertificateRequest, now: Date = new Date()): Promise<KeyPair> {
    const keys = await generateKeys();
    const names = [
        ...(request.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(request.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ];
    const certificate = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        subject: `CN=${request.commonName}`,
        issuer: ca.certificate.subject,
        ...validity(now),
        publicKey: keys.publicKey,
        signingKey: ca.signingKey,
        signingAlgorithm: ALGORITHM,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension([request.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
            await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
            ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        ],
    });
    return { certPem: certificatePem(certificate), keyPem: privateKeyPem(keys.privateKey) };
}

/** Everything the cluster's components need to trust each other. */
export interface ClusterPki {
    ca: CertificateAuthority;
    /** kube-apiserver's serving certificate. */
    apiserver: KeyPair;
    /** kube-apiserver's client certificate towards aggregated API servers (front proxy). */
    frontProxyClient: KeyPair;
    /** The local istiod's webhook serving certificate. */
    istiod: KeyPair;
    /** Service-account token signing key pair (PKCS#8 private key, SPKI public key). */
    serviceAccount: { privateKeyPem: string; publicKeyPem: string };
}

export async function createClusterPki(now: Date = new Date()): Promise<ClusterPki> {
    const ca = await createCertificateAuthority("pluggable-mesh-local-ca", now);
    const [apiserver, frontProxyClient, istiod, serviceAccountKeys] = await Promise.all([
        issueCertificate(ca, { commonName: "kube-apiserver", usage: "server", ...APISERVER_SERVING_NAMES }, now),
        issueCertificate(ca, { commonName: "front-proxy-client", usage: "client" }, now),
        issueCertificate(ca, { commonName: "istiod.istio-system.svc", usage: "server", ...ISTIOD_SERVING_NAMES }, now),
        generateKeys(),
    ]);
    return {
        ca,
        apiserver,
        frontProxyClient,
        istiod,
        serviceAccount: {
            privateKeyPem: privateKeyPem(serviceAccountKeys.privateKey),
            publicKeyPem: KeyObject.from(serviceAccountKeys.publicKey).export({ type: "spki", format: "pem" }) as string,
        },
    };
}

/** The files {@link writeClusterPki} writes, relative to the PKI directory. */
export const PKI_FILES = {
    caCert: "ca.crt",
    caKey: "ca.key",
    apiserverCert: "apiserver.crt",
    apiserverKey: "apiserver.key",
    frontProxyClientCert: "front-proxy-client.crt",
    frontProxyClientKey: "front-proxy-client.key",
    istiodCert: "istiod.crt",
    istiodKey: "istiod.key",
    serviceAccountKey: "sa.key",
    serviceAccountPublicKey: "sa.pub",
} as const;

/** Writes the PKI into `dir` (private keys mode 0600); returns each file's absolute path. */
export function writeClusterPki(dir: string, pki: ClusterPki): Record<keyof typeof PKI_FILES, string> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const contents: Record<keyof typeof PKI_FILES, string> = {
        caCert: pki.ca.certPem,
        caKey: pki.ca.keyPem,
        apiserverCert: pki.apiserver.certPem,
        apiserverKey: pki.apiserver.keyPem,
        frontProxyClientCert: pki.frontProxyClient.certPem,
        frontProxyClientKey: pki.frontProxyClient.keyPem,
        istiodCert: pki.istiod.certPem,
        istiodKey: pki.istiod.keyPem,
        serviceAccountKey: pki.serviceAccount.privateKeyPem,
        serviceAccountPublicKey: pki.serviceAccount.publicKeyPem,
    };
    const paths = {} as Record<keyof typeof PKI_FILES, string>;
    for (const [key, name] of Object.entries(PKI_FILES) as [keyof typeof PKI_FILES, string][]) {
        const file = path.join(dir, name);
        fs.writeFileSync(file, contents[key], { mode: name.endsWith(".key") ? 0o600 : 0o644 });
        paths[key] = file;
    }
    return paths;
}
