// A valid invoice for tests, the fault suite and the bench: the one place its shape is spelled out.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { CreateInvoiceRequestSchema, type CreateInvoiceRequest } from "@invoicer/sdk";

let keys = 0;

/** A valid invoice request; each call gets a new idempotency key unless one is given. */
export function sampleInvoice(overrides: MessageInitShape<typeof CreateInvoiceRequestSchema> = {}): CreateInvoiceRequest {
  const defaults: MessageInitShape<typeof CreateInvoiceRequestSchema> = {
    idempotencyKey: `key-${process.pid}-${Date.now()}-${keys++}`,
    currencyCode: "EUR",
    seller: {
      name: "Acme GmbH",
      vatId: "DE123456789",
      address: { street: "Hauptstraße 1", city: "Berlin", postalCode: "10115", countryCode: "DE" },
    },
    buyer: {
      name: "Globex SARL",
      vatId: "FR12345678901",
      address: { street: "1 rue de Rivoli", city: "Paris", postalCode: "75001", countryCode: "FR" },
    },
    lines: [
      { description: "Consulting, November", quantity: 3n, unitPriceMinor: 15_000n, vatRateBp: 1900 },
      { description: "Handbook", quantity: 2n, unitPriceMinor: 1_250n, vatRateBp: 700 },
    ],
    issueDate: "2026-11-24",
  };
  return create(CreateInvoiceRequestSchema, { ...defaults, ...overrides } as MessageInitShape<typeof CreateInvoiceRequestSchema>);
}
