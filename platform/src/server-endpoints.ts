// The server's endpoints, as the gateway and the consumer see them: every address its URLs resolve
// to (a headless Service on Kubernetes, Docker's DNS for a scaled compose service, or a list of
// URLs), each with its calls in flight and whether its health check says SERVING. Calls are spread
// per call, not per connection, which is all kube-proxy's ClusterIP balancing would give.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

export interface Endpoint {
  /** The endpoint's base URL, its host an address: http://10.0.0.7:8081. */
  readonly url: string;
  /** Calls in flight to it from this process: the balancer's measure of load. */
  outstanding: number;
  /** Its last health check said SERVING and no call has failed to reach it since. */
  serving: boolean;
}

export interface EndpointOptions {
  /** How often the names are resolved again and each endpoint's health is checked. */
  refreshMs: number;
  /** Whether the endpoint at this URL says SERVING (a gRPC health check). */
  checkHealth: (url: string) => Promise<boolean>;
  /** Every address of a host name (dns.lookup with all: true by default). */
  resolve?: (host: string) => Promise<string[]>;
}

export interface ServerEndpoints {
  /** The endpoint for the next call: the less busy of two drawn among the serving ones (among all, when none is). */
  pick(avoid?: Endpoint): Endpoint | undefined;
  /** A call could not reach `endpoint`: it takes no calls until its health check says SERVING again. */
  unreachable(endpoint: Endpoint): void;
  /** Every endpoint known now. */
  all(): readonly Endpoint[];
  /** Whether any endpoint says SERVING. */
  anyServing(): boolean;
  /** Calls `listener` with the endpoints a resolution no longer finds (their sessions can close). */
  onRemoved(listener: (gone: Endpoint[]) => void): void;
  /** Resolves after the first resolution and health checks. */
  readonly ready: Promise<void>;
  close(): void;
}

const defaultResolve = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

/** The endpoints behind `urls`, resolved now and every `refreshMs`; names that fail to resolve keep their last addresses. */
export function serverEndpoints(urls: string[], { refreshMs, checkHealth, resolve = defaultResolve }: EndpointOptions): ServerEndpoints {
  let endpoints: Endpoint[] = [];
  const removedListeners: ((gone: Endpoint[]) => void)[] = [];
  const lastAddresses = new Map<string, string[]>();
  let closed = false;

  const refresh = async () => {
    const found = await Promise.all(urls.map((url) => addressesOf(url, resolve, lastAddresses)));
    const wanted = [...new Set(found.flat())];
    const byUrl = new Map(endpoints.map((e) => [e.url, e]));
    // New endpoints start serving: a call that cannot reach one takes it out and goes elsewhere.
    const next = wanted.map((url) => byUrl.get(url) ?? { url, outstanding: 0, serving: true });
    const gone = endpoints.filter((e) => !wanted.includes(e.url));
    endpoints = next;
    if (gone.length > 0) for (const listener of removedListeners) listener(gone);
    await Promise.all(next.map(async (e) => void (e.serving = await checkHealth(e.url).catch(() => false))));
  };
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (!closed) timer = setTimeout(() => void refresh().finally(schedule), refreshMs).unref();
  };
  const ready = refresh().finally(schedule);

  return {
    pick(avoid) {
      const candidates = endpoints.filter((e) => e !== avoid);
      const serving = candidates.filter((e) => e.serving);
      return lessBusyOfTwo(serving.length > 0 ? serving : candidates);
    },
    unreachable: (endpoint) => void (endpoint.serving = false),
    all: () => endpoints,
    anyServing: () => endpoints.some((e) => e.serving),
    onRemoved: (listener) => void removedListeners.push(listener),
    ready,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}

/** Power of two choices: two endpoints drawn at random, the one with fewer calls in flight. */
function lessBusyOfTwo(endpoints: Endpoint[]): Endpoint | undefined {
  if (endpoints.length <= 1) return endpoints[0];
  const a = endpoints[Math.floor(Math.random() * endpoints.length)]!;
  let b = endpoints[Math.floor(Math.random() * (endpoints.length - 1))]!;
  if (b === a) b = endpoints[endpoints.length - 1]!;
  return b.outstanding < a.outstanding ? b : a;
}

/** The URLs of every address `url`'s host resolves to (the URL itself for an address). */
async function addressesOf(url: string, resolve: (host: string) => Promise<string[]>, last: Map<string, string[]>): Promise<string[]> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) return [parsed.origin];
  try {
    const addresses = await resolve(host);
    const origins = addresses.map((a) => `${parsed.protocol}//${isIP(a) === 6 ? `[${a}]` : a}:${parsed.port || 80}`);
    if (origins.length > 0) last.set(url, origins);
  } catch {
    // DNS is down or the name is not there yet: keep what was known.
  }
  return last.get(url) ?? [];
}
