// What the load generator calls: the public service through the gateway in each protocol,
// the server directly (as the gateway calls it), and the SQL floor (the same statements through
// postgres.js with no RPC at all).
import { randomUUID } from "node:crypto";
import { Agent } from "node:http";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { InvoiceService } from "@invoicer/sdk";
import { internalTokenHeader, tenantHeader } from "@invoicer/platform/internal-auth";
import postgres from "postgres";
import {
  claimNumberParams,
  claimNumberSql,
  insertIssuedParams,
  insertIssuedSql,
  issuedRecord,
} from "../server/src/invoices/invoice-store.ts";
import { newInvoice } from "../server/src/invoices/invoice-service.ts";
import { sampleInvoice } from "@invoicer/devstack/samples";

export interface Tenant {
  id: string;
  apiKey: string;
}

/** An invoice the GetInvoice cells may read, with the tenant that owns it. */
export interface Known {
  tenant: Tenant;
  id: string;
}

export type Protocol = "connect-binary" | "connect-json" | "grpc-web" | "grpc";

export interface Target {
  id: string;
  label: string;
  /** Issues one invoice for the tenant; resolves with its id. */
  create(tenant: Tenant, idempotencyKey: string): Promise<string>;
  get(invoice: Known): Promise<void>;
  close(): Promise<void>;
}

const protocolLabels: Record<Protocol, string> = {
  "connect-binary": "Connect binary",
  "connect-json": "Connect JSON",
  "grpc-web": "gRPC-web",
  grpc: "gRPC",
};
const callTimeoutMs = 10_000;

/** The public InvoiceService over one protocol, through the gateway (API key) or straight to the server (internal token). */
export function rpcTarget(via: "gateway" | "server", protocol: Protocol, baseUrl: string, internalToken: string): Target {
  // Own agents and sessions, so one target's connections never serve another's calls.
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const session = protocol === "grpc" ? new Http2SessionManager(baseUrl) : undefined;
  const transport: Transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl, sessionManager: session })
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { agent } })
        : createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: protocol === "connect-binary", nodeOptions: { agent } });
  const client: Client<typeof InvoiceService> = createClient(InvoiceService, transport);
  const headers = (t: Tenant): Record<string, string> =>
    via === "gateway" ? { authorization: `Bearer ${t.apiKey}` } : { [internalTokenHeader]: internalToken, [tenantHeader]: t.id };
  return {
    id: `${via}-${protocol}`,
    label: `${via} ${protocolLabels[protocol]}`,
    async create(tenant, idempotencyKey) {
      const { invoice } = await client.createInvoice(sampleInvoice({ idempotencyKey }), {
        headers: headers(tenant),
        timeoutMs: callTimeoutMs,
      });
      return invoice!.id;
    },
    async get({ tenant, id }) {
      await client.getInvoice({ id }, { headers: headers(tenant), timeoutMs: callTimeoutMs });
    },
    async close() {
      agent.destroy();
      session?.abort();
    },
  };
}

/**
 * The SQL floor: issueInvoice's statements, the very text it sends (claim the idempotency key
 * and bump the counter; insert the invoice, its lines, the outbox row and pg_notify), as prepared
 * statements in one transaction, as the server sends them, with parameters from the server's own
 * builders (invoice-store.ts: no second spelling of the invoice's columns here); and a bare select of an invoice by
 * primary key, unnamed as drizzle sends GetInvoice's selects. It runs in a database of its own,
 * so no relay or watcher of the server reacts to its notifications.
 */
export function sqlFloor(databaseUrl: string, poolSize: number, outboxPayload: Uint8Array): Target & { sql: postgres.Sql } {
  const sql = postgres(databaseUrl, { max: poolSize, onnotice: () => {}, connection: { application_name: "invoicer-bench-floor" } });
  // The request as the server turns it into an invoice, once: each call only changes its ids and key.
  const draft = newInvoice(sampleInvoice(), "", () => "2026-11-24");
  const traceparent = `00-${"1".repeat(32)}-${"2".repeat(16)}-01`;
  return {
    id: "floor",
    label: "SQL floor (postgres.js)",
    sql,
    async create(tenant, idempotencyKey) {
      const issue = { ...draft, id: randomUUID(), tenantId: tenant.id, idempotencyKey };
      await sql.begin(async (tx) => {
        const [claimed] = await tx.unsafe(claimNumberSql, claimNumberParams(issue), { prepare: true });
        if (!claimed) throw new Error(`idempotency key ${idempotencyKey} already used`);
        const invoice = issuedRecord(issue, BigInt(claimed.number as string), new Date());
        const event = {
          id: randomUUID(),
          tenantId: tenant.id,
          invoiceId: invoice.id,
          eventType: "invoice.issued",
          payload: outboxPayload,
          traceparent,
        };
        await tx.unsafe(insertIssuedSql, insertIssuedParams(invoice, event), { prepare: true });
      });
      return issue.id;
    },
    async get({ id }) {
      const rows = await sql.unsafe("select * from invoices where id = $1", [id]);
      if (rows.length === 0) throw new Error(`invoice ${id} not found`);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
