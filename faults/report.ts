// docs/reliability.md from a fault-suite run: what each scenario did, what held, and how much memory each process peaked at.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Outcome } from "./invariants.ts";
import { violations } from "./invariants.ts";
import type { LoadStats } from "./load.ts";
import type { Findings, Scenario } from "./run.ts";

export interface Result {
  scenario: Scenario;
  load: LoadStats;
  outcome: Outcome;
  recoveryMs: number;
  settled: boolean;
  crashes: number;
  /** Peak resident memory per process name, MiB. */
  peakRssMiB: Record<string, number>;
  findings: Findings;
}

const processes = ["server-a", "server-b", "server-c", "consumer-1", "consumer-2", "gateway", "kafka", "postgres"];

/** Writes the report of `results` to `file`; `command` is what produced them, named in its first line. */
export function writeReport(results: Result[], file: string, command: string) {
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
  const header =
    "| scenario | sent | ok | failed | client retries | failed in flight | committed | published | documents | redeliveries | dead-lettered | lost | duplicated effects | stalled | crashed | recovery | invariants |";
  const rows = results.map(({ scenario, load, outcome: o, recoveryMs, settled, crashes, findings }) => {
    const broken = [...violations(o), ...findings.broken];
    const verdict = !settled ? "did not settle in 120 s" : broken.length ? broken.join("; ") : "all hold";
    const stalled = (settled ? 0 : 1) + o.parked;
    return `| ${scenario.name} | ${load.sent} | ${load.succeeded} | ${load.failed} | ${load.retries} | ${load.failedInFlight} | ${o.committed} | ${o.published} | ${o.documentsRendered} | ${o.redeliveries} | ${o.deadLettered} | ${o.lostAcked} | ${o.doubleEffects} | ${stalled} | ${crashes} | ${(recoveryMs / 1000).toFixed(1)} s | ${verdict} |`;
  });
  const memoryHeader = `| scenario | ${processes.join(" | ")} |`;
  const memoryRows = results.map(
    ({ scenario, peakRssMiB }) =>
      `| ${scenario.name} | ${processes.map((p) => (peakRssMiB[p] === undefined ? "-" : String(peakRssMiB[p]))).join(" | ")} |`,
  );
  const notes = results.filter((r) => r.findings.notes.length > 0).map((r) => `- **${r.scenario.name}**: ${r.findings.notes.join("; ")}.`);
  const text = `# Reliability: the latest fault-suite run

Written by \`${command}\` (faults/run.ts) on ${new Date().toISOString().slice(0, 10)}, commit ${commit}.

${results.map((r) => `- **${r.scenario.name}**: ${r.scenario.what}.`).join("\n")}

${header}
|${"---|".repeat(17)}
${rows.join("\n")}

Columns: *sent/ok/failed* are creates by the load generator (a failed call is retried with the same
idempotency key, on the other replica when there are two, up to 60 times); *failed in flight* are
attempts a server took and then failed: any code but Unavailable and ResourceExhausted, which refuse
a call before work (a deploy must have none);
*committed* are invoices in PostgreSQL; *published* outbox rows marked published (issued and
document-ready events); *documents* PDFs stored; *redeliveries* events seen on the topic more than
once (at-least-once delivery, harmless); *dead-lettered* messages on the dead-letter topic (only the
poison event's is expected); *lost* acknowledged creates missing from the database; *duplicated
effects* a second invoice for a key, a second document-ready event or document for an invoice;
*stalled* events set aside by the relay, or a scenario that did not settle; *crashed* service
processes that exited without being asked to; *recovery* from the end of the fault until every
event is published and every invoice has READY documents.
Invariants checked: every acknowledged create is stored; per-tenant numbers are 1..N with no gap
or duplicate; every committed change is published and on the topic; every invoice ends READY with
exactly one document per format; no side effect happened twice; nothing was set aside or
dead-lettered but the poison event; no process crashed.

Peak resident memory (MiB) of each process during the scenario, sampled every 250 ms (pidusage)
(PostgreSQL: the postmaster; Kafka: the largest node where a scenario runs three):

${memoryHeader}
|${"---|".repeat(processes.length + 1)}
${memoryRows.join("\n")}

What the load's failed attempts were, what the pipeline went through (*relay*: publishes that failed
whole, their rows rolled back and retried; *producer*: produce requests kafkajs retried within a
publish; *outbox*: the longest from a commit to the publish that took it; *documents*: the longest
between two documents attached), and what the fault and attack scenarios saw:

${notes.join("\n")}
`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`\n${header}\n${rows.join("\n")}\n\n${memoryHeader}\n${memoryRows.join("\n")}\n\nwritten to ${file}\n`);
}
