// EN 16931 e-invoices from one model. The Factur-X CII is embedded in the invoice PDF (../facturx.ts); the
// others are documents of their own (../index.ts renders those whose profile the invoice meets).
import { facturXCiiProfile, writeCii, xrechnungCiiProfile } from "./cii.ts";
import type { EInvoice } from "./model.ts";
import { peppolUblProfile, writeUbl, xrechnungUblProfile } from "./ubl.ts";

export { eInvoiceOf, type EInvoiceExtras } from "./from-invoice.ts";
export type { EInvoice } from "./model.ts";

/** Each XML e-invoice format, by name, written from the same model. */
export const eInvoiceWriters = {
  xrechnungUbl: (inv: EInvoice) => writeUbl(inv, xrechnungUblProfile),
  xrechnungCii: (inv: EInvoice) => writeCii(inv, xrechnungCiiProfile),
  peppolUbl: (inv: EInvoice) => writeUbl(inv, peppolUblProfile),
  facturXCii: (inv: EInvoice) => writeCii(inv, facturXCiiProfile),
} satisfies Record<string, (inv: EInvoice) => string>;

export type EInvoiceFormat = keyof typeof eInvoiceWriters;
