import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { InvoiceEventSchema, type InvoiceEvent } from "@invoicer/sdk";
import type { OutboxEvent } from "../outbox/outbox-writer.ts";
import type { InvoiceRecord } from "./invoice-store.ts";
import { toInvoice } from "./to-proto.ts";

export type EventKind = "issued" | "paid" | "voided" | "documentReady";

/** Kafka header value naming each kind of event. */
export const eventTypes: Record<EventKind, string> = {
  issued: "invoice.issued",
  paid: "invoice.paid",
  voided: "invoice.voided",
  documentReady: "invoice.document_ready",
};

/** Builds the outbox row of an invoice change: an InvoiceEvent in protobuf binary. */
export function invoiceEvent(kind: EventKind) {
  return (record: InvoiceRecord): OutboxEvent => {
    const id = randomUUID();
    const event: InvoiceEvent = create(InvoiceEventSchema, {
      eventId: id,
      tenantId: record.tenantId,
      invoiceId: record.id,
      occurTime: timestampNow(),
      kind: { case: kind, value: { invoice: toInvoice(record) } },
    });
    return { id, eventType: eventTypes[kind], payload: toBinary(InvoiceEventSchema, event) };
  };
}
