import * as pulumi from "@pulumi/pulumi";
it("dbg", async () => {
  process.on("unhandledRejection", (e) => console.log("UNHANDLED", e));
  await pulumi.runtime.setMocks({ newResource: (a: any) => { console.log("NEW", a.type, a.name); return { id: "x", state: a.inputs }; }, call: () => { throw new Error("x"); } }, "p", "s", false);
  const k8s = require("@pulumi/kubernetes");
  const c = new k8s.helm.v4.Chart("c", { chart: "base" }, { transforms: [(a: any) => undefined] });
  c.urn.apply((u: string) => console.log("URN", u));
  await new Promise((r) => setTimeout(r, 3000));
});
