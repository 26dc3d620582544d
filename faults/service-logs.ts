// What the services went through, read from their JSON log lines: the servers' failed publish
// attempts (each retried, the rows staying in the outbox) and how long until they recovered, the
// produce requests kafkajs retried within a publish, and the consumers' longest pause between two
// documents attached.
import { existsSync, readFileSync } from "node:fs";

export interface PipelineFigures {
  /** Publish attempts that failed and were retried, over all servers. */
  relayFailures: number;
  /** The longest time from a relay's first failure to its recovery, ms; undefined when one never recovered. */
  relayOutageMs: number | undefined;
  /** Produce attempts kafkajs failed and retried within one publish, over all servers. */
  producerRetries: number;
  /** The longest time between two documents attached by any consumer, ms. */
  documentsPauseMs: number;
}

const relayFailed = "outbox relay failed; rows stay in the outbox";
const relayRecovered = "outbox relay recovered";
const documentsAttached = "documents attached";
const producerRetried = "Failed to send messages";

export function pipelineFigures(serverLogs: string[], consumerLogs: string[]): PipelineFigures {
  let relayFailures = 0;
  let relayOutageMs: number | undefined = 0;
  let producerRetries = 0;
  for (const file of serverLogs) {
    let since: number | undefined;
    for (const entry of entries(file)) {
      if (entry.msg?.startsWith(producerRetried)) producerRetries++;
      if (entry.msg === relayFailed) {
        relayFailures++;
        since ??= entry.time;
      } else if (entry.msg === relayRecovered && since !== undefined) {
        if (relayOutageMs !== undefined) relayOutageMs = Math.max(relayOutageMs, entry.time - since);
        since = undefined;
      }
    }
    if (since !== undefined) relayOutageMs = undefined;
  }
  const attached = consumerLogs
    .flatMap((file) => entries(file).filter((e) => e.msg === documentsAttached))
    .map((e) => e.time)
    .sort((a, b) => a - b);
  const documentsPauseMs = attached.reduce((longest, time, i) => (i === 0 ? 0 : Math.max(longest, time - attached[i - 1]!)), 0);
  return { relayFailures, relayOutageMs, producerRetries, documentsPauseMs };
}

/** The error a crashed service's log ends on (Node writes an uncaught one to stderr, not as JSON), else its last line. */
export function lastError(file: string): string {
  const plain = (existsSync(file) ? readFileSync(file, "utf8") : "").split("\n").filter((l) => l.trim() && !l.startsWith("{"));
  return plain.findLast((l) => /^[A-Z]\w*(Error|Exception)\b/.test(l)) ?? plain.at(-1) ?? "nothing in its log";
}

function entries(file: string): { msg?: string; time: number }[] {
  const text = existsSync(file) ? readFileSync(file, "utf8") : ""; // no file: a service the scenario never started
  return text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as { msg?: string; time: number }];
    } catch {
      return [];
    }
  });
}
