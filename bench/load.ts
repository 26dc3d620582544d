// The one load generator of the bench: closed-loop workers for throughput and latency, an
// open-loop pacer for steady rates, and the statistics both report.

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles; all NaN when there are no samples. */
export function summarize(samples: number[]): Summary {
  if (samples.length === 0) return { n: 0, p50: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return {
    n: sorted.length,
    p50: rank(0.5),
    p99: rank(0.99),
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

export interface CellLoad {
  /** Calls completed inside the measurement window. */
  requests: number;
  errors: number;
  firstError?: string;
  rps: number;
  latencyMs: Summary;
  windowMs: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `concurrency` workers each call `call` back to back: warm-up, then a measured window, then the
 * calls in flight finish (not counted). A call counts when it completes inside the window.
 */
export async function closedLoop(options: {
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  call: (worker: number) => Promise<void>;
  onWindow?: (edge: "start" | "end") => void;
}): Promise<CellLoad> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let state: "warmup" | "measure" | "done" = "warmup";
  const worker = async (w: number) => {
    while (state !== "done") {
      const started = performance.now();
      let failed = false;
      try {
        await options.call(w);
      } catch (err) {
        failed = true;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
      if (state === "measure") {
        if (failed) errors++;
        else latencies.push(performance.now() - started);
      }
      if (failed) await pause(10); // a failing target must not turn into a busy loop
    }
  };
  const workers = Array.from({ length: options.concurrency }, (_, w) => worker(w));
  await pause(options.warmupMs);
  options.onWindow?.("start");
  const windowStart = performance.now();
  state = "measure";
  await pause(options.measureMs);
  state = "done";
  const windowMs = performance.now() - windowStart;
  options.onWindow?.("end");
  await Promise.all(workers);
  return {
    requests: latencies.length,
    errors,
    firstError,
    rps: (latencies.length * 1000) / windowMs,
    latencyMs: summarize(latencies),
    windowMs,
  };
}

/** Starts call i at `i / rate` seconds whether or not earlier calls have returned; resolves when all have. */
export async function paced(
  rate: number,
  durationMs: number,
  call: (i: number) => Promise<void>,
): Promise<{ sent: number; failed: number; firstError?: string }> {
  const calls: Promise<void>[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const total = Math.round((rate * durationMs) / 1000);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await pause(wait); // pacing the load, not awaiting a condition
    calls.push(
      call(i).catch((err: unknown) => {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }),
    );
  }
  await Promise.all(calls);
  return { sent: total, failed, firstError };
}
