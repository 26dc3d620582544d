// What must hold after every scenario, read from the database and the topic themselves.
import { Kafka, logLevel } from "kafkajs";
import type { Sql } from "postgres";
import { readCloudEventHeaders } from "@invoicer/platform/cloudevents";
import { caughtUp, readTopic } from "@invoicer/devstack/topics";
import type { Acked } from "./load.ts";

export interface Outcome {
  committed: number;
  published: number;
  documentsRendered: number;
  /** Deliveries of an event id seen more than once on the topic: at-least-once, not an effect. */
  redeliveries: number;
  lostAcked: number;
  numberingFaults: number;
  unpublished: number;
  missingOnTopic: number;
  notReady: number;
  doubleEffects: number;
  /** Outbox rows the relay set aside (the broker refused them). */
  parked: number;
  deadLettered: number;
  /** Dead letters beyond the scenario's own poison: events treated as failed for good. */
  unexpectedDeadLetters: number;
}

const count = async (sql: Sql, query: string) => Number((await sql.unsafe(query))[0]!.n);

/** Waits (bounded) until the outbox is drained and every invoice has its documents; returns whether it got there. */
export async function awaitSettled(sql: Sql, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pending =
      (await count(sql, "select count(*) as n from outbox where published_at is null")) +
      (await count(sql, "select count(*) as n from invoices where document_status <> 'READY'"));
    if (pending === 0) return true;
    await new Promise((r) => setTimeout(r, 200)); // progress lives in two systems; nothing to subscribe to
  }
  return false;
}

export async function checkInvariants(
  sql: Sql,
  brokers: string[],
  topic: string,
  acked: Acked[],
  expectedDeadLetters = 0,
): Promise<Outcome> {
  const keys = new Map((await sql`select key, invoice_id from idempotency_keys`).map((r) => [r.key as string, r.invoice_id as string]));
  const lostAcked = acked.filter((a) => keys.get(a.key) !== a.id).length;
  const numbering = await sql`
    select tenant_id from invoices group by tenant_id
    having count(*) <> count(distinct number) or min(number) <> 1 or max(number) <> count(*)`;
  const outboxIds = new Set((await sql`select id from outbox`).map((r) => r.id as string));
  const reader = await readTopic(brokers, topic);
  let deliveries: string[];
  try {
    await caughtUp(brokers, topic, reader);
    deliveries = reader.items.map((m) => readCloudEventHeaders(m.headers).id ?? "");
  } finally {
    await reader.close();
  }
  const onTopic = new Set(deliveries);
  const deadLettered = await messagesOn(brokers, `${topic}.dead-letter`);
  const doubleEffects =
    (await count(sql, "select count(*) - count(distinct invoice_id) as n from outbox where event_type = 'invoice.document_ready'")) +
    // Five formats at most (PDF, DOCX and the three XML ones): more would be a document stored twice.
    (await count(
      sql,
      "select count(*) as n from invoices i where (select count(*) from invoice_documents d where d.invoice_id = i.id) > 5",
    )) +
    (await count(sql, "select (select count(*) from invoices) - (select count(*) from idempotency_keys) as n"));
  return {
    committed: await count(sql, "select count(*) as n from invoices"),
    published: await count(sql, "select count(*) as n from outbox where published_at is not null"),
    documentsRendered: await count(sql, "select count(*) as n from invoice_documents where format = 'PDF'"),
    redeliveries: deliveries.length - onTopic.size,
    lostAcked,
    numberingFaults: numbering.length,
    unpublished: await count(sql, "select count(*) as n from outbox where published_at is null"),
    missingOnTopic: [...outboxIds].filter((id) => !onTopic.has(id)).length,
    notReady: await count(sql, "select count(*) as n from invoices where document_status <> 'READY'"),
    doubleEffects,
    parked: await count(sql, "select count(*) as n from outbox where parked_at is not null and published_at is null"),
    deadLettered,
    unexpectedDeadLetters: Math.max(0, deadLettered - expectedDeadLetters),
  };
}

/** The longest any event waited in the outbox, from its commit to the start of the publish that took it, ms. */
export async function longestOutboxWaitMs(sql: Sql): Promise<number> {
  return count(sql, "select coalesce(max(extract(epoch from published_at - created_at) * 1000), 0)::int as n from outbox");
}

/** Messages on a topic (0 when it does not exist). */
async function messagesOn(brokers: string[], topic: string): Promise<number> {
  const admin = new Kafka({ clientId: "faults-admin", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The invariants as one list of broken promises; empty when all hold. */
export function violations(o: Outcome): string[] {
  const broken: [boolean, string][] = [
    [o.lostAcked > 0, `${o.lostAcked} acknowledged creates missing`],
    [o.numberingFaults > 0, `${o.numberingFaults} tenants with gaps or duplicate numbers`],
    [o.unpublished > 0, `${o.unpublished} outbox rows unpublished`],
    [o.missingOnTopic > 0, `${o.missingOnTopic} committed events not on the topic`],
    [o.notReady > 0, `${o.notReady} invoices without READY documents`],
    [o.doubleEffects > 0, `${o.doubleEffects} side effects done twice`],
    [o.parked > 0, `${o.parked} events set aside (stalled)`],
    [o.unexpectedDeadLetters > 0, `${o.unexpectedDeadLetters} events dead-lettered`],
  ];
  return broken.filter(([bad]) => bad).map(([, what]) => what);
}
