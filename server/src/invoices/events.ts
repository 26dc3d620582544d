import { randomUUID } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { InvoiceEventSchema, type InvoiceEvent } from "@invoicer/sdk";
import type { OutboxEvent } from "../outbox/outbox-writer.ts";
import type { InvoiceRecord } from "./invoice-store.ts";
import { toInvoice } from "./to-proto.ts";

export type EventKind = NonNullable<InvoiceEvent["kind"]["case"]>;

/** Kafka header value naming each kind of event. */
export const eventTypes: Record<EventKind, string> = {
  issued: "invoice.issued",
  paid: "invoice.paid",
  voided: "invoice.voided",
  documentReady: "invoice.document_ready",
  credited: "invoice.credited",
};

/** Builds the outbox row of an invoice change: an InvoiceEvent in protobuf binary. */
export function invoiceEvent(kind: Exclude<EventKind, "credited">) {
  // One shape for the four kinds; TypeScript cannot pair a union `case` with its `value` by itself.
  return (record: InvoiceRecord): OutboxEvent => outboxEvent(record, { case: kind, value: { invoice: toInvoice(record) } } as KindInit);
}

/** The outbox row telling that `record` was credited by the credit note `creditNoteId`. */
export function invoiceCreditedEvent(record: InvoiceRecord, creditNoteId: string): OutboxEvent {
  return outboxEvent(record, { case: "credited", value: { invoice: toInvoice(record), creditNoteId } });
}

type KindInit = Extract<MessageInitShape<typeof InvoiceEventSchema>["kind"], { case: EventKind }>;

function outboxEvent(record: InvoiceRecord, kind: KindInit): OutboxEvent {
  const id = randomUUID();
  const event: InvoiceEvent = create(InvoiceEventSchema, {
    eventId: id,
    tenantId: record.tenantId,
    invoiceId: record.id,
    occurTime: timestampNow(),
    kind,
  });
  return { id, eventType: eventTypes[kind.case], payload: toBinary(InvoiceEventSchema, event) };
}
