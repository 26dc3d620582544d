// The tests' stack is devstack's in-process one; this keeps the tests' imports and their own helpers.
import type { Stack } from "@invoicer/devstack/in-process-stack";
export { startStack, bearer, gatewayTransport } from "@invoicer/devstack/in-process-stack";
export type { EventOptions, Stack, StackEvents, StackOptions, Tenant } from "@invoicer/devstack/in-process-stack";
// Kept for tests written against the old home; import sampleInvoice from @invoicer/devstack/samples, which loads no stack.
export { sampleInvoice } from "@invoicer/devstack/samples";

/** Rows in a table of the stack's database, to prove a failed call stored nothing. */
export async function countRows(stack: Stack, table: "invoices" | "invoice_lines" | "outbox" | "idempotency_keys"): Promise<number> {
  const [row] = await stack.database.sql.unsafe(`select count(*)::int as n from ${table}`);
  return row!.n as number;
}
