import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node"; // in a browser: createGrpcWebTransport from @connectrpc/connect-web
import { InvoiceService } from "@invoicer/sdk";

const apiKey = process.env.INVOICER_API_KEY;
const transport = createConnectTransport({
  baseUrl: process.env.INVOICER_URL ?? "http://127.0.0.1:8080",
  httpVersion: "1.1",
  interceptors: [(next) => (req) => (req.header.set("Authorization", `Bearer ${apiKey}`), next(req))],
});
const invoices = createClient(InvoiceService, transport);

const { invoice } = await invoices.createInvoice({
  idempotencyKey: `example-${Date.now()}`,
  currencyCode: "EUR",
  seller: {
    name: "Acme GmbH",
    vatId: "DE123456789",
    address: { street: "Hauptstr. 1", city: "Berlin", postalCode: "10115", countryCode: "DE" },
  },
  buyer: { name: "Globex SARL", address: { street: "1 rue de Rivoli", city: "Paris", postalCode: "75001", countryCode: "FR" } },
  lines: [{ description: "Consulting", quantity: 3n, unitPriceMinor: 15_000n, vatRateBp: 1900 }],
});
console.log(`invoice ${invoice?.number}: total ${invoice?.totalMinor} minor units of ${invoice?.currencyCode}`);
