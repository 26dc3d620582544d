// The web app in a real Chromium (Debian's package) through a real gateway, server, Kafka and
// consumer: what a person does with it, and the gateway's CORS allowlist as a browser enforces it.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ensureWebBuilt } from "../scripts/web-build.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";
import { startStack, type Stack } from "./support/stack.ts";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const webDir = join(import.meta.dirname, "..", "web", "dist");
const screenshot = join(".data", "screenshots", "web-app.png");

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let allowedSite: StaticSite;
let refusedSite: StaticSite;

before(async () => {
  const buildMs = await ensureWebBuilt();
  process.stdout.write(buildMs === undefined ? "# web app up to date\n" : `# web app built in ${buildMs} ms\n`);
  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  [allowedSite, refusedSite] = await Promise.all([serveStatic(webDir), serveStatic(webDir)]);
  // Events on (second argument), so the consumer renders documents and the page sees them become ready.
  stack = await startStack({ webDir, corsOrigins: [allowedSite.origin] }, {});
  // Playwright adds --headless and a fresh temporary --user-data-dir itself.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await Promise.all([allowedSite?.close(), refusedSite?.close()]);
});

describe("web app in Chromium, served by the gateway", () => {
  let page: Page;
  const row = (number: number) => page.locator(`#invoice-rows tr[data-invoice-number="${number}"]`);
  const field = (name: string) => page.locator(`#invoice-form [name="${name}"]`);

  it("connects with the API key a person enters, over gRPC-web, and goes live", async () => {
    page = await context.newPage();
    await page.goto(`${stack.gatewayUrl}/`);
    await page.getByLabel("API key").fill(stack.tenantA.apiKey);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.locator('#live-status[data-state="live"]').waitFor();
    await page.locator("#no-invoices").waitFor();
  });

  it("issues an invoice with several lines through the form and lists it with its number and total", async () => {
    for (const [at, party] of [
      ["seller", { name: "Acme GmbH", vat_id: "DE123456789", country: "DE", city: "Berlin" }],
      ["buyer", { name: "Globex SARL", vat_id: "", country: "FR", city: "Paris" }],
    ] as const) {
      await field(`${at}.name`).fill(party.name);
      await field(`${at}.vat_id`).fill(party.vat_id);
      await field(`${at}.address.street`).fill("Main street 1");
      await field(`${at}.address.postal_code`).fill("10115");
      await field(`${at}.address.city`).fill(party.city);
      await field(`${at}.address.country_code`).fill(party.country);
    }
    await field("lines[0].description").fill("Consulting, November");
    await field("lines[0].quantity").fill("3");
    await field("lines[0].unit_price_minor").fill("150.00");
    await page.getByRole("button", { name: "Add line" }).click();
    await field("lines[1].description").fill("Handbook");
    await field("lines[1].quantity").fill("2,5");
    await field("lines[1].unit_code").fill("KGM");
    await field("lines[1].unit_price_minor").fill("12.50");
    await field("lines[1].vat_rate_bp").fill("7");
    // What an XRechnung needs beyond the standard: the buyer reference, the seller's contact, both electronic addresses, payment.
    await field("buyer_reference").fill("04011000-12345-03");
    await field("seller.electronic_address.scheme").fill("EM");
    await field("seller.electronic_address.id").fill("billing@acme.example");
    await field("buyer.electronic_address.scheme").fill("EM");
    await field("buyer.electronic_address.id").fill("ap@globex.example");
    await field("seller.contact.name").fill("Erika Mustermann");
    await field("seller.contact.phone").fill("+49 30 1234567");
    await field("seller.contact.email").fill("billing@acme.example");
    await field("payment.means_code").selectOption("58");
    await field("payment.iban").fill("DE89 3704 0044 0532 0130 00");
    await page.getByRole("button", { name: "Issue invoice" }).click();

    // 3 x 150.00 at 19 % and 2.5 kg x 12.50 at 7 %: 481.25 net + 85.50 + 2.19 VAT (2.1875 rounded half away from zero).
    await row(1).locator(".total", { hasText: "€568.94" }).waitFor();
    assert.equal(await row(1).locator(".status").textContent(), "Issued");
    assert.equal(await row(1).locator(".buyer").textContent(), "Globex SARL");
    assert.equal(await page.locator("#form-result").textContent(), "Issued invoice 1.");
    const { invoice } = await stack.client(stack.tenantA).getInvoice({ id: (await row(1).getAttribute("data-invoice-id"))! });
    assert.deepEqual(
      [invoice!.lines[1]!.quantityDecimal, invoice!.lines[1]!.unitCode, invoice!.buyerReference, invoice!.payment?.iban],
      ["2.5", "KGM", "04011000-12345-03", "DE89370400440532013000"],
    );
    assert.equal(invoice!.seller?.contact?.email, "billing@acme.example");
  });

  it("sees the document become ready live, without a reload, and downloads the PDF", async () => {
    await page.locator('#activity-log li[data-event="documentReady"]', { hasText: "Invoice 1 document ready" }).waitFor();
    await row(1).locator('.document[data-document-status="READY"]').waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), row(1).getByRole("button", { name: "PDF" }).click()]);
    assert.match(download.suggestedFilename(), /\.pdf$/);
    const pdf = readFileSync((await download.path())!);
    assert.equal(pdf.subarray(0, 5).toString("latin1"), "%PDF-");
    // The form gave what XRechnung needs: its UBL carries the buyer reference (BT-10).
    const [xml] = await Promise.all([page.waitForEvent("download"), row(1).getByRole("button", { name: "XRechnung UBL" }).click()]);
    assert.match(xml.suggestedFilename(), /\.xml$/);
    assert.match(readFileSync((await xml.path())!, "utf8"), /<cbc:BuyerReference>04011000-12345-03<\/cbc:BuyerReference>/);
  });

  it("pays an invoice and voids another, both shown live", async () => {
    await row(1).getByRole("button", { name: "Pay" }).click();
    await row(1).locator('.status[data-status="PAID"]').waitFor();
    await page.locator('#activity-log li[data-event="paid"]', { hasText: "Invoice 1 paid" }).waitFor();

    // Ten invoices from another client arrive live; the first page holds the newest ten.
    const api = stack.client(stack.tenantA);
    for (let i = 0; i < 10; i++)
      await api.createInvoice(
        sampleInvoice({ currencyCode: "JPY", lines: [{ description: "Tea", quantity: 1n, unitPriceMinor: 1_200n, vatRateBp: 1000 }] }),
      );
    await row(11).locator(".total", { hasText: "¥1,320" }).waitFor();
    page.once("dialog", (dialog) => void dialog.accept("issued twice"));
    await row(11).getByRole("button", { name: "Void" }).click();
    await row(11).locator('.status[data-status="VOID"]').waitFor();
    assert.equal(await row(11).getByRole("button", { name: "Pay" }).isDisabled(), true);
  });

  it("lists invoices page by page", async () => {
    assert.equal(await page.locator("#invoice-rows tr").count(), 10);
    await page.getByRole("button", { name: "Older" }).click();
    await page.locator("#page-label", { hasText: "Page 2" }).waitFor();
    await row(1).locator('.status[data-status="PAID"]').waitFor();
    assert.equal(await page.locator("#invoice-rows tr").count(), 1);
    assert.equal(await page.getByRole("button", { name: "Older" }).isDisabled(), true);
    await page.getByRole("button", { name: "Newer" }).click();
    await row(11).waitFor();
  });

  it("shows each of the server's validation errors next to the field it names", async () => {
    await field("seller.vat_id").fill("12345");
    await field("lines[0].quantity").fill("0");
    await page.getByRole("button", { name: "Issue invoice" }).click();
    const vatError = page.locator('[data-error-for="seller.vat_id"]');
    await vatError.waitFor();
    assert.match((await vatError.textContent())!, /must be a country prefix/);
    assert.equal(await page.locator('[data-error-for="lines[0].quantity"]').textContent(), "must be at least 1");
    assert.equal(await field("seller.vat_id").getAttribute("aria-invalid"), "true");
    assert.equal(await field("buyer.name").getAttribute("aria-invalid"), null);
    assert.equal(await page.locator("#invoice-rows tr").count(), 10, "nothing was issued");

    mkdirSync(join(".data", "screenshots"), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    process.stdout.write(`# screenshot: ${screenshot}\n`);
  });

  it("takes the key from the URL fragment (as npm start prints it), drops it from the address bar, and works over Connect", async () => {
    const other = await context.newPage();
    await other.goto(`${stack.gatewayUrl}/#key=${stack.tenantB.apiKey}&protocol=connect`);
    await other.locator('#live-status[data-state="live"]').waitFor();
    assert.equal(new URL(other.url()).hash, "");
    assert.equal(await other.getByLabel("API key").inputValue(), stack.tenantB.apiKey);
    await other.locator("#no-invoices").waitFor(); // tenant B sees none of tenant A's invoices
    await stack.client(stack.tenantB).createInvoice(sampleInvoice());
    await other.locator('#invoice-rows tr[data-invoice-number="1"]').waitFor();
    await other.close();
  });

  it("credits an invoice in full with a credit note, which lists with its own number and documents", async () => {
    page.once("dialog", (dialog) => void dialog.accept("Returned"));
    await row(10).getByRole("button", { name: "Credit" }).click();
    await row(12).locator(".status", { hasText: "Credit note for No. 10" }).waitFor();
    await row(10).locator(".status", { hasText: "Issued, ¥1,320 credited" }).waitFor();
    assert.equal(await row(10).getByRole("button", { name: "Credit" }).isDisabled(), true, "nothing is left to credit");
    assert.equal(await row(12).getByRole("button", { name: "Void" }).isDisabled(), true, "a credit note is not voided");
    await row(12).locator('.document[data-document-status="READY"]').waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), row(12).getByRole("button", { name: "PDF" }).click()]);
    assert.equal(
      readFileSync((await download.path())!)
        .subarray(0, 5)
        .toString("latin1"),
      "%PDF-",
    );
  });

  it("keeps a payment shown while a page read before it is still on its way", async () => {
    // The page is read again for a new invoice; its answer, read before the payment, arrives after it.
    let pageRead!: () => void;
    let releasePage!: () => void;
    const [read, released] = [new Promise<void>((r) => (pageRead = r)), new Promise<void>((r) => (releasePage = r))];
    const listCalls = "**/invoicer.v1.InvoiceService/ListInvoices";
    await page.route(listCalls, async (route) => {
      const response = await route.fetch();
      pageRead();
      await released;
      await route.fulfill({ response });
    });
    await stack.client(stack.tenantA).createInvoice(sampleInvoice());
    await read;
    await row(9).getByRole("button", { name: "Pay" }).click();
    await page.locator('#activity-log li[data-event="paid"]', { hasText: "Invoice 9 paid" }).waitFor();
    releasePage();
    await row(13).waitFor(); // the page read before the payment is shown
    await row(9).locator('.status[data-status="PAID"]').waitFor();
    await page.unroute(listCalls);
  });

  it("offers no credit in full of an invoice a credit note made through the API credited in part", async () => {
    const id = (await row(8).getAttribute("data-invoice-id"))!;
    const discount = { description: "Discount", quantity: 1n, unitPriceMinor: 100n, vatRateBp: 1000 };
    await stack
      .client(stack.tenantA)
      .createCreditNote({ idempotencyKey: crypto.randomUUID(), invoiceId: id, reason: "discount", lines: [discount] });
    await row(8).locator(".status", { hasText: "Issued, ¥110 credited" }).waitFor();
    assert.equal(await row(8).getByRole("button", { name: "Credit" }).isDisabled(), true, "a credit in full would exceed what is left");
  });
});

describe("web app served from another origin", () => {
  const connectFrom = async (site: StaticSite) => {
    const page = await context.newPage();
    const refusals: string[] = [];
    page.on("console", (message) => void (message.text().includes("CORS policy") && refusals.push(message.text())));
    await page.goto(`${site.origin}/`);
    await page.getByLabel("Gateway").fill(stack.gatewayUrl);
    await page.getByLabel("API key").fill(stack.tenantA.apiKey);
    await page.getByRole("button", { name: "Connect" }).click();
    return { page, refusals };
  };

  it("works from an origin in CORS_ORIGINS", async () => {
    const { page, refusals } = await connectFrom(allowedSite);
    await page.locator('#live-status[data-state="live"]').waitFor();
    await page.locator('#invoice-rows tr[data-invoice-number="11"]').waitFor();
    assert.deepEqual(refusals, []);
    await page.close();
  });

  it("is refused from an origin that is not, and says so", async () => {
    const { page, refusals } = await connectFrom(refusedSite);
    await page.locator("#session-error", { hasText: "is not in the gateway's CORS_ORIGINS" }).waitFor();
    assert.equal(await page.locator("#workspace").isHidden(), true);
    assert.match(refusals.join("\n"), new RegExp(`from origin '${refusedSite.origin}' has been blocked by CORS policy`));
    await page.close();
  });
});

interface StaticSite {
  origin: string;
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

/** The built app on a port of its own: another origin than the gateway's. */
async function serveStatic(dir: string): Promise<StaticSite> {
  const server: Server = createServer((request, response) => {
    const path = normalize(new URL(request.url ?? "/", "http://x").pathname).replace(/^(\.\.[/\\])+/, "");
    const file = join(dir, path === "/" ? "index.html" : path);
    if (!file.startsWith(dir) || !existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": contentTypes[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((closed) => server.close(() => closed())),
  };
}
