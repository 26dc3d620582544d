import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cloudEventHeaders, readCloudEventHeaders } from "@invoicer/platform/cloudevents";

describe("CloudEvents Kafka headers", () => {
  const event = {
    id: "0b6e8f0e-4b7a-4c1e-9a57-6f3d2f1f6a10",
    type: "invoice.issued",
    time: new Date("2026-11-28T19:40:00.123Z"),
    subject: "6a3c2f8e-1d2b-4e5f-8a9b-0c1d2e3f4a5b",
  };

  it("writes the binary-mode context attributes, the payload's content type and, for one release, the old headers", () => {
    assert.deepEqual(cloudEventHeaders(event), {
      ce_specversion: "1.0",
      ce_id: event.id,
      ce_source: "/invoicer/server",
      ce_type: "invoice.issued",
      ce_time: "2026-11-28T19:40:00.123Z",
      ce_subject: event.subject,
      "content-type": "application/x-protobuf; messageType=invoicer.v1.InvoiceEvent",
      "event-id": event.id,
      "event-type": "invoice.issued",
    });
  });

  it("reads ce_ headers, raw (Buffer) as well as decoded", () => {
    const raw = Object.fromEntries(Object.entries(cloudEventHeaders(event)).map(([k, v]) => [k, Buffer.from(v)]));
    for (const headers of [cloudEventHeaders(event), raw]) {
      const read = readCloudEventHeaders(headers);
      assert.equal(read.id, event.id);
      assert.equal(read.type, "invoice.issued");
      assert.equal(read.source, "/invoicer/server");
      assert.equal(read.subject, event.subject);
      assert.equal(read.time, "2026-11-28T19:40:00.123Z");
      assert.equal(read.cloudEvent, true);
    }
  });

  it("prefers ce_ headers and falls back to event-id/event-type on events published before them", () => {
    assert.deepEqual(
      readCloudEventHeaders({ ce_specversion: "1.0", ce_id: "new", "event-id": "old", ce_type: "t", "event-type": "u" }).id,
      "new",
    );
    const old = readCloudEventHeaders({ "event-id": "e1", "event-type": "invoice.paid" });
    assert.equal(old.id, "e1");
    assert.equal(old.type, "invoice.paid");
    assert.equal(old.cloudEvent, false);
    assert.equal(readCloudEventHeaders(undefined).id, undefined);
  });
});
