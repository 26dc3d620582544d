// @invoicer/sdk as a customer gets it: `npm pack` of gen/, installed from the tarball into a fresh project outside
// the repository, then used from plain Node ESM against a live gateway, bundled by Vite for the browser, and
// type-checked through its `exports` (a package that ships without src/ or its .d.ts fails here).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { build, type Rolldown } from "vite";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const run = promisify(execFile);
const repo = join(import.meta.dirname, "..");
/** What the project installs besides the SDK, at the versions this repository uses (so npm's cache serves them). */
const companions = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node", "@connectrpc/connect-web"];
const repoVersion = (name: string) =>
  (JSON.parse(readFileSync(join(repo, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
// npm hands its own settings (npm_config_*, npm_package_*) to `npm test`'s children; the project's npm must not see the repo's.
const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));

/** A Node ESM script a customer could write: create, read back, and a refused create's BadRequest. */
const nodeClient = `
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { BadRequestSchema, ErrorInfoSchema, InvoiceService, InvoiceStatus } from "@invoicer/sdk";
import * as errorDetails from "@invoicer/sdk/google/rpc/error_details_pb";

const apiKey = process.env.INVOICER_API_KEY;
const transport = createConnectTransport({
  baseUrl: process.env.INVOICER_URL,
  httpVersion: "1.1",
  interceptors: [(next) => (req) => (req.header.set("Authorization", \`Bearer \${apiKey}\`), next(req))],
});
const invoices = createClient(InvoiceService, transport);
const order = {
  idempotencyKey: \`sdk-package-\${Date.now()}\`,
  currencyCode: "EUR",
  seller: { name: "Acme GmbH", vatId: "DE123456789", address: { street: "Hauptstr. 1", city: "Berlin", postalCode: "10115", countryCode: "DE" } },
  buyer: { name: "Globex SARL", address: { street: "1 rue de Rivoli", city: "Paris", postalCode: "75001", countryCode: "FR" } },
  lines: [{ description: "Consulting", quantity: 3n, unitPriceMinor: 15_000n, vatRateBp: 1900 }],
};
const shown = (i) => ({ id: i.id, number: String(i.number), status: InvoiceStatus[i.status], totalMinor: String(i.totalMinor) });

const { invoice: created } = await invoices.createInvoice(order);
const { invoice: read } = await invoices.getInvoice({ id: created.id });
let refused;
try {
  await invoices.createInvoice({ ...order, idempotencyKey: order.idempotencyKey + "-zero", lines: [{ ...order.lines[0], quantity: 0n }] });
} catch (e) {
  const err = ConnectError.from(e);
  refused = {
    code: Code[err.code],
    reason: err.findDetails(ErrorInfoSchema)[0]?.reason,
    fields: err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)),
  };
}
console.log(JSON.stringify({ created: shown(created), read: shown(read), refused, oneModule: errorDetails.BadRequestSchema === BadRequestSchema }));
`;

/** A browser entry: the SDK with connect-web's gRPC-web transport. */
const browserEntry = `
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { BadRequestSchema, InvoiceService } from "@invoicer/sdk";

export const typeNames = [InvoiceService.typeName, BadRequestSchema.typeName];
export function invoiceClient(baseUrl, apiKey) {
  const auth = (next) => (req) => (req.header.set("Authorization", \`Bearer \${apiKey}\`), next(req));
  return createClient(InvoiceService, createGrpcWebTransport({ baseUrl, interceptors: [auth] }));
}
`;

/** Runs the built bundle (Node has fetch, so connect-web works here too) against the gateway. */
const bundleRunner = `
import { invoiceClient, typeNames } from "./dist/browser.js";
const { invoice } = await invoiceClient(process.env.INVOICER_URL, process.env.INVOICER_API_KEY).getInvoice({ id: process.env.INVOICE_ID });
console.log(JSON.stringify({ typeNames, totalMinor: String(invoice.totalMinor) }));
`;

/** Types a TypeScript customer leans on; the @ts-expect-error fails the check should the declarations turn into `any`. */
const typedClient = `
import { create, fromBinary } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { CreateInvoiceRequestSchema, InvoiceEventSchema, InvoiceService, InvoiceStatus, type Invoice } from "@invoicer/sdk";
import { BadRequestSchema, type BadRequest } from "@invoicer/sdk/google/rpc/error_details_pb";

const invoices: Client<typeof InvoiceService> = createClient(InvoiceService, createGrpcWebTransport({ baseUrl: "https://invoicer.example" }));
export async function paidTotal(id: string): Promise<bigint | undefined> {
  const { invoice } = await invoices.getInvoice({ id });
  return invoice?.status === InvoiceStatus.PAID ? invoice.totalMinor : undefined;
}
export const fields = (err: unknown): string[] =>
  ConnectError.from(err).findDetails(BadRequestSchema).flatMap((d: BadRequest) => d.fieldViolations.map((v) => v.field));
export const issued = (bytes: Uint8Array): Invoice | undefined => {
  const event = fromBinary(InvoiceEventSchema, bytes);
  return event.kind.case === "issued" ? event.kind.value.invoice : undefined;
};
// @ts-expect-error: CreateInvoiceRequest has no field "currency"
create(CreateInvoiceRequestSchema, { currency: "EUR" });
`;

const tsconfig = (module: string, moduleResolution: string) =>
  JSON.stringify({
    compilerOptions: { noEmit: true, strict: true, target: "es2022", lib: ["es2022", "dom"], module, moduleResolution, types: [] },
    files: ["typed-client.ts"],
  });

/** A fresh project in `dir` (outside the repository) with the packed SDK and its companions installed. */
async function installPackedSdk(dir: string): Promise<string> {
  const npm = (cwd: string, args: string[]) => run("npm", args, { cwd, env: cleanEnv(), timeout: 120_000 });
  const { stdout } = await npm(repo, ["pack", "--workspace", "gen", "--pack-destination", dir, "--json"]);
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  const dependencies = Object.fromEntries([
    ["@invoicer/sdk", `file:${join(dir, packed!.filename)}`],
    ...companions.map((name) => [name, repoVersion(name)]),
  ]);
  const project = join(dir, "project");
  const files = {
    "package.json": JSON.stringify({ name: "sdk-customer", private: true, type: "module", dependencies }),
    "node-client.mjs": nodeClient,
    "browser.js": browserEntry,
    "run-bundle.mjs": bundleRunner,
    "typed-client.ts": typedClient,
    "tsconfig.nodenext.json": tsconfig("nodenext", "nodenext"),
    "tsconfig.bundler.json": tsconfig("esnext", "bundler"),
  };
  mkdirSync(project);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
  await npm(project, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"]);
  return project;
}

describe("the packed @invoicer/sdk in a project outside the repository", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "invoicer-sdk-")));
  let stack: Stack;
  let project: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    [stack, project] = await Promise.all([startStack(), installPackedSdk(dir)]);
    env = { ...cleanEnv(), INVOICER_URL: stack.gatewayUrl, INVOICER_API_KEY: stack.tenantA.apiKey };
  });
  after(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is installed from the tarball, with @bufbuild/protobuf as a peer", () => {
    const installed = JSON.parse(readFileSync(join(project, "node_modules/@invoicer/sdk/package.json"), "utf8"));
    assert.equal(installed.private, undefined, "a private package cannot be published");
    assert.ok(installed.peerDependencies["@bufbuild/protobuf"], "the SDK shares the customer's protobuf runtime");
  });

  it("creates an invoice from plain Node ESM, reads it back and reads the BadRequest of a refused one", async () => {
    const { stdout } = await run(process.execPath, ["node-client.mjs"], { cwd: project, env, timeout: 30_000 });
    const { created, read, refused, oneModule } = JSON.parse(stdout);
    assert.deepEqual(created, { id: created.id, number: "1", status: "ISSUED", totalMinor: "53550" });
    assert.deepEqual(read, created);
    assert.deepEqual(refused, { code: "InvalidArgument", reason: "VALIDATION_FAILED", fields: ["lines[0].quantity"] });
    assert.ok(oneModule, "the index and the subpath export are one module");
  });

  it("bundles for the browser with connect-web and no Node module, and the bundle calls the gateway", async () => {
    const built = (await build({
      root: project,
      configFile: false,
      logLevel: "silent",
      build: { outDir: "dist", lib: { entry: "browser.js", formats: ["es"], fileName: "browser" } },
    })) as Rolldown.RolldownOutput | Rolldown.RolldownOutput[];
    const modules = [built]
      .flat()
      .flatMap((bundle) => bundle.output)
      .flatMap((chunk) => (chunk.type === "chunk" ? chunk.moduleIds : []));
    assert.ok(
      modules.some((id) => id.startsWith(join(project, "node_modules/@invoicer/sdk/src/"))),
      "the SDK comes from the project's install",
    );
    const nodeOnly = modules.filter((id) => /__vite-browser-external|^node:|connect-node/.test(id));
    assert.deepEqual(nodeOnly, [], "no Node-only module in the browser bundle");

    const { invoice } = await stack.client(stack.tenantA).createInvoice(sampleInvoice());
    const { stdout } = await run(process.execPath, ["run-bundle.mjs"], {
      cwd: project,
      env: { ...env, INVOICE_ID: invoice!.id },
      timeout: 30_000,
    });
    assert.deepEqual(JSON.parse(stdout), {
      typeNames: ["invoicer.v1.InvoiceService", "google.rpc.BadRequest"],
      totalMinor: String(invoice!.totalMinor),
    });
  });

  for (const mode of ["nodenext", "bundler"]) {
    it(`type-checks a TypeScript client under moduleResolution ${mode}`, async () => {
      const tsc = join(repo, "node_modules/typescript/bin/tsc");
      const { code, stdout } = await run(process.execPath, [tsc, "-p", `tsconfig.${mode}.json`], { cwd: project, timeout: 60_000 }).then(
        (done) => ({ code: 0, stdout: done.stdout }),
        (failed: { code: number; stdout: string }) => failed,
      );
      assert.equal(code, 0, `tsc reports no error:\n${stdout}`);
    });
  }
});
