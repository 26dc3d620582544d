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
import { priceInvoice } from "../server/src/domain/pricing.ts";
import { claimNumberSql, insertIssuedSql } from "../server/src/invoices/invoice-store.ts";
import { outboxChannel } from "../server/src/outbox/outbox-writer.ts";
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
      const { invoice } = await client.createInvoice(sampleInvoice({ idempotencyKey }), { headers: headers(tenant), timeoutMs: callTimeoutMs });
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
 * statements in one transaction, as the server sends them; and a bare select of an invoice by
 * primary key, unnamed as drizzle sends GetInvoice's selects. It runs in a database of its own,
 * so no relay or watcher of the server reacts to its notifications.
 */
export function sqlFloor(databaseUrl: string, poolSize: number, outboxPayload: Uint8Array): Target & { sql: postgres.Sql } {
  const sql = postgres(databaseUrl, { max: poolSize, onnotice: () => {}, connection: { application_name: "invoicer-bench-floor" } });
  const request = sampleInvoice();
  const pricing = priceInvoice(request.lines);
  const party = (p: typeof request.seller) => JSON.stringify({ name: p!.name, vatId: p!.vatId, address: { ...p!.address } });
  const seller = party(request.seller);
  const buyer = party(request.buyer);
  const vatBreakdown = JSON.stringify(pricing.vatBreakdown.map((b) => ({ vatRateBp: b.vatRateBp, taxableMinor: String(b.taxableMinor), vatMinor: String(b.vatMinor) })));
  const requestHash = "0".repeat(64); // a SHA-256 in hex, as the server stores
  const traceparent = `00-${"1".repeat(32)}-${"2".repeat(16)}-01`;
  const payload = Buffer.from(outboxPayload);
  return {
    id: "floor",
    label: "SQL floor (postgres.js)",
    sql,
    async create(tenant, idempotencyKey) {
      const id = randomUUID();
      const eventId = randomUUID();
      await sql.begin(async (tx) => {
        const [claimed] = await tx.unsafe(claimNumberSql, [tenant.id, idempotencyKey, requestHash, id], { prepare: true });
        if (!claimed) throw new Error(`idempotency key ${idempotencyKey} already used`);
        await tx.unsafe(
          insertIssuedSql,
          [
            id,
            tenant.id,
            claimed.number as string,
            "ISSUED",
            "PENDING",
            request.currencyCode,
            seller,
            buyer,
            vatBreakdown,
            String(pricing.subtotalMinor),
            String(pricing.vatTotalMinor),
            String(pricing.totalMinor),
            request.issueDate,
            request.issueDate,
            "2026-12-24",
            "",
            request.lines.map((l) => l.description),
            request.lines.map((l) => String(l.quantity)),
            request.lines.map((l) => String(l.unitPriceMinor)),
            request.lines.map((l) => l.vatRateBp),
            pricing.netMinor.map(String),
            eventId,
            "invoice.issued",
            payload,
            traceparent,
            outboxChannel,
            `${tenant.id}/${eventId}`,
          ],
          { prepare: true },
        );
      });
      return id;
    },
    async get({ id }) {
      const rows = await sql.unsafe("select * from invoices where id = $1", [id]);
      if (rows.length === 0) throw new Error(`invoice ${id} not found`);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
