import assert from "node:assert/strict";
import { ConfigError, GovernedApp } from "../components";
import { checkApps, type AppInput } from "../components/app/plan";
import { renderApp, SECRET_VALUE_PLACEHOLDER } from "../components/app/render";
import type { Platform } from "../components/modes/mode";
import { configOf, parseStackFile, readStackFile, SECURE_VALUE_PLACEHOLDER } from "../engine/stackFile";
import { renderConfig } from "../cli/render";
import { PROJECT_ROOT, runWithMocks, type RegisteredResource } from "../mocks/mockEngine";
import { loadStack } from "../stacks/load";
import { MODE_NAMES, RUOYI_SECRETS, ruoyiConfig, TEST_SECRET_VALUE, type ModeName } from "./support/meshRuns";
import { attempt, expectedMessage } from "./hostileCases";

/**
 * Secrets: variables and files whose values come from named Pulumi secrets (the stack's
 * `pluggable-mesh:secrets`, GovernedApp's `secrets`) or from an existing Kubernetes Secret. The
 * workload only ever refers to a Secret; the Secret we create is a Pulumi secret; no value shows in
 * a render, a message or a log; every bad reference is refused before anything is registered.
 */

const PLATFORM: Platform = loadStack(ruoyiConfig("native"), { projectRoot: PROJECT_ROOT }).platform;
const SOURCE = "shop.yaml";
const SECRETS = { names: ["dbPassword", "apiToken"], source: "the test's secrets" };

const api = {
    name: "api",
    image: "ghcr.io/acme/api:1.0.0",
    ports: [{ name: "http", port: 8080 }],
    env: {
        LOG_LEVEL: "info",
        DB_PASSWORD: { secret: "dbPassword" },
        TLS_KEY_PASSPHRASE: { secretKeyRef: { name: "api-tls", key: "passphrase" } },
    },
    secretFiles: [
        { path: "/etc/api/token", secret: "apiToken" },
        { path: "/etc/api/tls/tls.key", secretKeyRef: { name: "api-tls", key: "tls.key" } },
        { path: "/etc/api/tls/tls.crt", secretKeyRef: { name: "api-tls", key: "tls.crt" } },
    ],
};

function shop(component: Record<string, unknown>): AppInput {
    return { spec: { name: "shop", components: [component] }, source: SOURCE, secrets: SECRETS };
}

function problemsOf(component: Record<string, unknown>): { key: string; message: string }[] {
    return checkApps([shop(component)], { platform: PLATFORM }).problems;
}

function rendered(mode: ModeName) {
    const { apps, problems } = checkApps([{ ...shop(api), mode }], { platform: PLATFORM });
    assert.deepEqual(problems, []);
    return renderApp(apps[0]!, PLATFORM).objects;
}

describe("secrets", () => {
    describe("rendered in every mode", () => {
        for (const mode of MODE_NAMES) {
            it(`${mode}: the app container refers to Secrets for every secret variable and file; our Secret holds placeholders only`, () => {
                const objects = rendered(mode);
                const deployment = objects.find((object) => object.manifest.kind === "Deployment")!.manifest as any;
                const pod = deployment.spec.template.spec;
                const container = pod.containers.find((candidate: { name: string }) => candidate.name === "api");
                assert.deepEqual(container.env, [
                    { name: "LOG_LEVEL", value: "info" },
                    { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "api-secrets", key: "dbPassword" } } },
                    { name: "TLS_KEY_PASSPHRASE", valueFrom: { secretKeyRef: { name: "api-tls", key: "passphrase" } } },
                ]);
                assert.deepEqual(container.volumeMounts, [
                    { name: "secret-files-0", mountPath: "/etc/api/token", subPath: "file-0-token", readOnly: true },
                    { name: "secret-files-1", mountPath: "/etc/api/tls/tls.key", subPath: "file-1-tls.key", readOnly: true },
                    { name: "secret-files-1", mountPath: "/etc/api/tls/tls.crt", subPath: "file-2-tls.crt", readOnly: true },
                ]);
                const ownVolumes = pod.volumes.filter((volume: { name: string }) => volume.name.startsWith("secret-files-"));
                assert.deepEqual(ownVolumes, [
                    { name: "secret-files-0", secret: { secretName: "api-secrets", items: [{ key: "apiToken", path: "file-0-token" }] } },
                    {
                        name: "secret-files-1",
                        secret: {
                            secretName: "api-tls",
                            items: [
                                { key: "tls.key", path: "file-1-tls.key" },
                                { key: "tls.crt", path: "file-2-tls.crt" },
                            ],
                        },
                    },
                ]);
                const secrets = objects.filter((object) => object.manifest.kind === "Secret");
                assert.deepEqual(
                    secrets.map(({ name, manifest, secretValues }) => ({ name, manifest, secretValues })),
                    [
                        {
                            name: "shop-api-secrets",
                            manifest: {
                                apiVersion: "v1",
                                kind: "Secret",
                                metadata: { name: "api-secrets", namespace: "shop", labels: deployment.metadata.labels },
                                type: "Opaque",
                                stringData: { apiToken: SECRET_VALUE_PLACEHOLDER, dbPassword: SECRET_VALUE_PLACEHOLDER },
                            },
                            secretValues: ["apiToken", "dbPassword"],
                        },
                    ],
                );
            });
        }

        it("creates no Secret for a component that references none", () => {
            const { apps } = checkApps([shop({ name: "web", image: "ghcr.io/acme/web:1.0.0", env: { TOKEN_FILE: "/etc/web/token" } })], { platform: PLATFORM });
            assert.deepEqual(renderApp(apps[0]!, PLATFORM).objects.filter((object) => object.manifest.kind === "Secret"), []);
        });
    });

    describe("GovernedApp: the Secret is a Pulumi secret, the workload holds no value", () => {
        let resources: RegisteredResource[];
        const VALUE = "s3cr3t-db-Passw0rd";
        before(async () => {
            ({ resources } = await runWithMocks(() => {
                new GovernedApp("shop", { components: [api], secrets: { dbPassword: VALUE, apiToken: "tok-9f8e7d" } });
            }));
        });

        it("registers our Secret with every value a Pulumi secret and its outputs marked secret", () => {
            const secret = resources.find((resource) => resource.type === "kubernetes:core/v1:Secret")!;
            assert.equal(secret.name, "shop-api-secrets");
            assert.deepEqual(secret.inputs.stringData, { apiToken: "tok-9f8e7d", dbPassword: VALUE });
            // The SDK sends an object holding secrets as one secret value.
            assert.deepEqual(secret.secretPaths, [["stringData"]]);
            assert.deepEqual(secret.additionalSecretOutputs, ["data", "stringData"]);
        });

        it("puts the values nowhere else", () => {
            const others = resources.filter((resource) => resource.type !== "kubernetes:core/v1:Secret");
            // Among them the workload, whose env and volumes refer to the Secret.
            assert.ok(others.some((resource) => resource.type === "kubernetes:apps/v1:Deployment"));
            const elsewhere = others.map((resource) => JSON.stringify(resource.inputs));
            assert.deepEqual(elsewhere.filter((inputs) => inputs.includes(VALUE) || inputs.includes("tok-9f8e7d")), []);
            // Negative control: the search does find a value where it is.
            assert.ok(JSON.stringify(resources.find((resource) => resource.type === "kubernetes:core/v1:Secret")!.inputs).includes(VALUE));
        });

        it("refuses a secret name that cannot be a Secret key, and a reference to a value it was not given", async () => {
            let registered: RegisteredResource[] = [];
            await assert.rejects(
                async () => {
                    registered = (await runWithMocks(() => new GovernedApp("shop", { components: [api], secrets: { "db password": VALUE, apiToken: "x" } }))).resources;
                },
                (error: unknown) =>
                    error instanceof ConfigError &&
                    error.message ===
                        expectedMessage([
                            `GovernedApp shop: secrets: "db password" is not a secret name; use a letter, then letters, digits, '_' or '-' (at most 63)`,
                            `GovernedApp shop: components[0].env.DB_PASSWORD.secret: "dbPassword" is not a secret given to this app; did you mean "db password"? known: db password, apiToken; set it in the GovernedApp's secrets argument`,
                        ]),
            );
            assert.deepEqual(registered, []);
        });
    });

    describe("bad references: one problem each, naming the field", () => {
        const web = (extra: Record<string, unknown>) => ({ name: "web", image: "ghcr.io/acme/web:1.0.0", ...extra });
        const cases: { name: string; component: Record<string, unknown>; problems: [string, string][] }[] = [
            {
                name: "an unknown secret name, with the close one",
                component: web({ env: { DB_PASSWORD: { secret: "dbPasword" } }, secretFiles: [{ path: "/etc/web/token", secret: "token" }] }),
                problems: [
                    ["components[0].env.DB_PASSWORD.secret", `"dbPasword" is not a secret given to this app; did you mean "dbPassword"? known: dbPassword, apiToken; set it in the test's secrets`],
                    ["components[0].secretFiles[0].secret", `"token" is not a secret given to this app; known: dbPassword, apiToken; set it in the test's secrets`],
                ],
            },
            {
                name: "both sources, or neither",
                component: web({ env: { A: { secret: "dbPassword", secretKeyRef: { name: "x", key: "y" } }, B: {} } }),
                problems: [
                    ["components[0].env.A", `expected exactly one of "secret" or "secretKeyRef", given both`],
                    ["components[0].env.B", `expected exactly one of "secret" or "secretKeyRef", given neither`],
                ],
            },
            {
                name: "a key and a Secret name Kubernetes refuses",
                component: web({ env: { A: { secretKeyRef: { name: "Bad_Name", key: "a/b" } } } }),
                problems: [
                    ["components[0].env.A.secretKeyRef.name", `"Bad_Name" is not a DNS name; use dot-separated labels of lowercase letters, digits and '-' (none empty, each at most 63 characters), at most 253 characters, e.g. "app.example.com"`],
                    ["components[0].env.A.secretKeyRef.key", `"a/b" is not a ConfigMap key; use letters, digits, '-', '_' and '.', at most 253 characters`],
                ],
            },
            {
                name: "a secret name that is not one",
                component: web({ secretFiles: [{ path: "/etc/web/x", secret: "9lives" }] }),
                problems: [["components[0].secretFiles[0].secret", `expected a secret name (a letter, then letters, digits, '_' or '-'; at most 63), given "9lives"`]],
            },
            {
                name: "a secret file on the path of a config file",
                component: web({ configFiles: [{ path: "/etc/web/app.conf", content: "x" }], secretFiles: [{ path: "/etc/web//app.conf", secret: "apiToken" }] }),
                problems: [["components[0].secretFiles[0].path", `"/etc/web//app.conf" is the same mount point as configFiles[0].path; each path may be mounted once`]],
            },
            {
                name: "a file under /var/run/secrets",
                component: web({ secretFiles: [{ path: "/var/run/secrets/token", secret: "apiToken" }] }),
                problems: [
                    [
                        "components[0].secretFiles[0].path",
                        `"/var/run/secrets/token" is under /var/run/secrets, where Kubernetes mounts ServiceAccount tokens; use an absolute path without '..' segments, ':' or NUL, not '/' and not under /var/run/secrets`,
                    ],
                ],
            },
        ];
        for (const { name, component, problems } of cases) {
            it(`refuses ${name}`, () => {
                assert.deepEqual(
                    problemsOf(component),
                    problems.map(([key, message]) => ({ key: `${SOURCE}: ${key}`, message })),
                );
            });
        }
    });

    describe("the stack: pluggable-mesh:secrets", () => {
        it("renders RuoYi offline with the value redacted: in no object, not in the Secret itself", async () => {
            const render = await renderConfig("test", ruoyiConfig("istio"));
            const text = JSON.stringify(render);
            assert.equal(text.includes(TEST_SECRET_VALUE), false);
            const secrets = render.objects.filter((object: any) => object.kind === "Secret" && object.metadata.namespace === "ruoyi") as any[];
            assert.deepEqual(
                secrets.map((secret) => [secret.metadata.name, secret.stringData]),
                [
                    ["ruoyi-admin-secrets", { mysqlRootPassword: "redacted" }],
                    ["mysql-secrets", { mysqlRootPassword: "redacted" }],
                ],
            );
        });

        it("refuses a reference to a secret the stack does not set, registering nothing", async () => {
            const config = ruoyiConfig("native", { "pluggable-mesh:secrets": JSON.stringify({ mysqlPassword: TEST_SECRET_VALUE }) });
            const { error, registered } = await attempt(config);
            const known = `did you mean "mysqlPassword"? known: mysqlPassword; set it in pluggable-mesh:secrets (pulumi config set --secret --path 'pluggable-mesh:secrets.<name>')`;
            assert.equal(
                (error as Error).message,
                expectedMessage([
                    `stacks/apps/ruoyi.yaml: components[1].env.SPRING_DATASOURCE_DRUID_MASTER_PASSWORD.secret: "mysqlRootPassword" is not a secret given to this app; ${known}`,
                    `stacks/apps/ruoyi.yaml: components[2].secretFiles[0].secret: "mysqlRootPassword" is not a secret given to this app; ${known}`,
                ]),
            );
            assert.equal(registered, 0);
        });

        it("never shows a value in a schema problem", async () => {
            const config = ruoyiConfig("native", { "pluggable-mesh:secrets": JSON.stringify({ mysqlRootPassword: 12345678, "bad name": TEST_SECRET_VALUE }) });
            const { error } = await attempt(config);
            assert.equal(
                (error as Error).message,
                expectedMessage([
                    `pluggable-mesh:secrets.mysqlRootPassword: expected string, given a secret value (not shown)`,
                    `pluggable-mesh:secrets.bad name: expected a secret name (a letter, then letters, digits, '_' or '-'; at most 63), given "bad name"`,
                ]),
            );
            assert.equal((error as Error).message.includes("12345678"), false);
        });

        it("every shipped stack sets RuoYi's password encrypted, and the offline reader sees a placeholder", () => {
            for (const stack of ["dev", "staging", "prod"]) {
                const { document } = readStackFile(stack);
                const secrets = document.config["pluggable-mesh:secrets"] as Record<string, { secure?: string }>;
                assert.deepEqual(Object.keys(secrets), ["mysqlRootPassword"], stack);
                assert.match(secrets.mysqlRootPassword!.secure!, /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/, stack);
                assert.match(document.encryptionsalt!, /^v1:/, stack);
                assert.equal(configOf(document)["pluggable-mesh:secrets"], JSON.stringify({ mysqlRootPassword: SECURE_VALUE_PLACEHOLDER }), stack);
            }
        });

        it("refuses a secret value committed in plain text, or the map encrypted as one value, without showing it", () => {
            const plain = `config:\n  pluggable-mesh:secrets:\n    mysqlRootPassword: ${TEST_SECRET_VALUE}\n    other:\n      secure: v1:abc:def\n`;
            assert.throws(
                () => parseStackFile(plain, "Pulumi.dev.yaml"),
                (error: unknown) =>
                    error instanceof ConfigError &&
                    error.message ===
                        expectedMessage([
                            `Pulumi.dev.yaml: pluggable-mesh:secrets.mysqlRootPassword: is not encrypted (its value is not shown); set it with pulumi config set --secret --path 'pluggable-mesh:secrets.mysqlRootPassword' <value>, and treat the plain value as leaked if it was ever committed`,
                        ]),
            );
            assert.throws(
                () => parseStackFile("config:\n  pluggable-mesh:secrets:\n    secure: v1:abc:def\n", "Pulumi.dev.yaml"),
                (error: unknown) =>
                    error instanceof ConfigError &&
                    error.message ===
                        expectedMessage([
                            `Pulumi.dev.yaml: pluggable-mesh:secrets: is encrypted as one value; set each secret on its own path (pulumi config set --secret --path 'pluggable-mesh:secrets.<name>' <value>) so its name can be checked before deployment`,
                        ]),
            );
            // Negative control: encrypted values pass.
            assert.deepEqual(Object.keys(parseStackFile("config:\n  pluggable-mesh:secrets:\n    a:\n      secure: v1:abc:def\n", "Pulumi.dev.yaml").config), ["pluggable-mesh:secrets"]);
        });

        it("RUOYI_SECRETS is what the unit suites hand the program (a plain value under mocks, wrapped as a secret by the program)", () => {
            assert.deepEqual(JSON.parse(RUOYI_SECRETS["pluggable-mesh:secrets"]!), { mysqlRootPassword: TEST_SECRET_VALUE });
        });
    });
});
