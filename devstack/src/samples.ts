// A valid invoice for tests, the fault suite and the bench: the one place its shape is spelled out.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ContactSchema,
  CreateInvoiceRequestSchema,
  ElectronicAddressSchema,
  PaymentInstructionsSchema,
  type CreateInvoiceRequest,
} from "@invoicer/sdk";

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

/**
 * sampleInvoice with what every e-invoice format's profile needs (XRechnung: buyer reference, seller
 * contact, electronic addresses, payment; Peppol: endpoint ids in Peppol's schemes): a documented
 * invoice of it is rendered in all five formats, as the bench's documents section measures.
 */
export function documentedInvoice(overrides: MessageInitShape<typeof CreateInvoiceRequestSchema> = {}): CreateInvoiceRequest {
  const invoice = sampleInvoice({ buyerReference: "04011000-12345-03", orderReference: "PO-4711", ...overrides });
  invoice.payment = create(PaymentInstructionsSchema, {
    meansCode: "58",
    iban: "DE89370400440532013000",
    bic: "COBADEFFXXX",
    terms: "30 days net",
  });
  invoice.seller!.electronicAddress = create(ElectronicAddressSchema, { scheme: "9930", id: "DE123456789" });
  invoice.seller!.contact = create(ContactSchema, { name: "Erika Mustermann", phone: "+49 30 1234567", email: "billing@acme.example" });
  invoice.buyer!.electronicAddress = create(ElectronicAddressSchema, { scheme: "9957", id: "FR12345678901" });
  return invoice;
}
