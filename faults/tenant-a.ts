// Tenant A's attacks in a process of their own, forked by the noisy-tenant scenario: their client
// work (hundreds of streams, their keep-alives, calls sent again) is then not in the event loop of
// the load generator that times B's and C's calls. Says "ready" once loaded (forked before the
// baseline, so its start-up is in neither phase); told what to start by the first message; says
// "begun" once the attacks hold their place; on the second message, stops them and answers with
// how each call ended and the CPU this process used meanwhile.
import { ordinaryReads, unendedRequests, unreadAnswers, watchStreams, type HeldAttack, type Outcomes } from "./tenant-attacks.ts";

export interface TenantAPlan {
  gatewayUrl: string;
  apiKey: string;
  /** Loopback addresses for the three attacks, so per-address limits do not count them with the load. */
  addresses: [string, string, string];
  /** Some of "unread", "unended", "watches" and "reads" (A's pages read as an ordinary client does, for comparison). */
  attacks: string[];
}

/** What the process answers to "stop". */
export interface TenantAReport {
  notes: string[];
  cpuMs: number;
}

/** The unread-answers attack: connections, and ListInvoices(page_size=100) calls each keeps open. */
const unreadConnections = 3;
const unreadCallsPerConnection = 3;
const unendedCalls = 20;
const watches = 250;

/** Starts the chosen attacks; resolves once they are under way. */
async function startAttacks({ gatewayUrl: url, apiKey: key, addresses, attacks: chosen }: TenantAPlan) {
  const [unreadFrom, unendedFrom, watchFrom] = addresses;
  const attacks: [string, HeldAttack][] = [];
  if (chosen.includes("unread")) {
    // The unread answers first, each begun, so the calls that follow do not take every slot of A's before them.
    const unread = unreadAnswers(url, unreadFrom, key, unreadConnections, unreadCallsPerConnection);
    await unread.begun;
    const what = `unread answers (${unreadConnections} connections with a zero window, ${unreadCallsPerConnection} ListInvoices(page_size=100) calls each kept open)`;
    attacks.push([what, unread]);
  }
  if (chosen.includes("reads")) {
    const what = `ordinary reads, no attack (${unreadConnections} connections, ${unreadCallsPerConnection} ListInvoices(page_size=100) calls each, read to the end, sent again)`;
    attacks.push([what, ordinaryReads(url, unreadFrom, key, unreadConnections, unreadCallsPerConnection)]);
  }
  if (chosen.includes("unended"))
    attacks.push([`requests that never end (${unendedCalls} ListInvoices)`, unendedRequests(url, unendedFrom, key, unendedCalls)]);
  if (chosen.includes("watches"))
    attacks.push([
      `WatchInvoices streams (${watches} opened at once, each refused opened again a second later)`,
      watchStreams(url, watchFrom, key, watches),
    ]);
  return attacks;
}

const described = (outcomes: Outcomes) =>
  Object.entries(outcomes)
    .map(([what, n]) => `${n}x ${what}`)
    .join(", ") || "none";

// The scenario gone (its run failed), nothing is left to attack for.
process.once("disconnect", () => process.exit(0));
process.send!("ready");
process.once("message", (plan: TenantAPlan) => {
  const cpu = process.cpuUsage();
  void startAttacks(plan).then((attacks) => {
    process.send!("begun");
    process.once("message", async () => {
      const notes: string[] = [];
      for (const [what, attack] of attacks) notes.push(`A's ${what}: ${attack.started()} calls, ${described(await attack.stop())}`);
      const used = process.cpuUsage(cpu);
      const report: TenantAReport = { notes, cpuMs: Math.round((used.user + used.system) / 1000) };
      process.send!(report, () => process.exit(0));
    });
  });
});
