// The gateway serves the built web app at `/` without an API key, and nothing else changes for the API.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLogger } from "@invoicer/platform/logger";
import { startObservability } from "@invoicer/platform/observability";
import { buildGateway } from "../../gateway/src/app.ts";
import { loadGatewayConfig } from "../../gateway/src/config.ts";

const log = createLogger("test", "silent");
const gatewayWith = (webDir: string) =>
  // The server is never called: every request here is answered by the gateway itself.
  buildGateway(
    { ...loadGatewayConfig({ INTERNAL_TOKEN: "x".repeat(24), SERVER_URL: "http://127.0.0.1:9" }), webDir },
    log,
    startObservability("gateway", { serviceName: "invoicer-gateway" }),
  );

describe("gateway serving the web app", () => {
  let webDir: string;
  let gateway: Awaited<ReturnType<typeof buildGateway>>;
  before(async () => {
    webDir = mkdtempSync(join(tmpdir(), "invoicer-web-"));
    mkdirSync(join(webDir, "assets"));
    writeFileSync(join(webDir, "index.html"), "<!doctype html><title>Invoicer</title>");
    writeFileSync(join(webDir, "assets", "index-abc123.js"), "console.log('invoices')");
    gateway = await gatewayWith(webDir);
  });
  after(async () => {
    await gateway.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  it("serves index.html at / with no API key, revalidated, under a content security policy", async () => {
    const page = await gateway.inject({ method: "GET", url: "/" });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers["content-type"] as string, /^text\/html/);
    assert.equal(page.headers["cache-control"], "no-cache");
    assert.match(page.headers["content-security-policy"] as string, /^default-src 'self';.*frame-ancestors 'none'/);
    assert.match(page.body, /<title>Invoicer<\/title>/);
  });

  it("serves the hashed assets as immutable", async () => {
    const asset = await gateway.inject({ method: "GET", url: "/assets/index-abc123.js" });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers["cache-control"], "public, max-age=31536000, immutable");
  });

  it("shadows no API, health or unknown route", async () => {
    assert.equal((await gateway.inject({ method: "GET", url: "/healthz" })).json().status, "ok");
    const rest = await gateway.inject({ method: "GET", url: "/v1/invoices" });
    assert.equal(rest.statusCode, 401, "the REST routes still want a key");
    const rpc = await gateway.inject({
      method: "POST",
      url: "/invoicer.v1.InvoiceService/ListInvoices",
      headers: { "content-type": "application/json" },
      payload: "{}",
    });
    assert.equal(rpc.json().code, "unauthenticated");
    const unknownRpc = await gateway.inject({
      method: "POST",
      url: "/invoicer.v1.Nope/Call",
      headers: { "content-type": "application/json" },
      payload: "{}",
    });
    assert.equal(unknownRpc.statusCode, 404, "which Connect clients read as unimplemented");
    assert.match(unknownRpc.body, /^no such method/);
    const metrics = await gateway.inject({ method: "GET", url: "/metrics" });
    assert.equal(metrics.statusCode, 404, "no /metrics unless METRICS_TOKEN is set");
    const missing = await gateway.inject({ method: "GET", url: "/assets/nope.js" });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, "not_found");
  });

  it("still starts, without a page, when the app is not built", async () => {
    const bare = await gatewayWith(join(webDir, "not-built"));
    assert.equal((await bare.inject({ method: "GET", url: "/" })).statusCode, 404);
    assert.equal((await bare.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
    await bare.close();
  });
});
