/**
 * An app team's stack in a fleet (docs/fleet.md): the `shop` app on the platform stack's Istio,
 * calling the catalog team's `catalog-api`, which another stack deploys. Both are read through
 * StackReferences before anything is registered, so the program is an async function (Pulumi
 * awaits it and exports what it returns).
 *
 *   pulumi config set platformStack acme/platform/prod
 *   pulumi config set catalogStack acme/catalog/prod
 */
import * as pulumi from "@pulumi/pulumi";
import { GovernedApp, peersData, readPeers, readPlatform } from "pluggable-mesh";

export = async () => {
    const config = new pulumi.Config();
    // Validated: a missing or malformed output fails here, naming the stack and the field.
    const platform = await readPlatform(config.get("platformStack") ?? "platform");
    // undefined while the catalog's stack is not deployed: then shop cannot call it yet.
    const catalog = (await readPeers(config.get("catalogStack") ?? "catalog")) ?? [];
    const shop = new GovernedApp("shop", {
        mode: "istio",
        platform,
        peers: catalog,
        components: [
            {
                name: "web",
                image: "ghcr.io/acme/shop-web:1.4.2",
                ports: [{ name: "http", port: 8080 }],
                dependsOn: [{ target: "catalog/catalog-api", env: { CATALOG_URL: "url" } }],
            },
        ],
    });
    // The catalog team's stack reads this to admit shop's calls (its authorization policies).
    return { peers: peersData([shop.peer]) };
};
