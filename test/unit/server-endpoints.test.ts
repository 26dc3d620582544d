// The server's endpoints as gateways and consumers see them (platform/src/server-endpoints.ts):
// names resolved to every address, health deciding which take calls, the less busy of two picked.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serverEndpoints, type Endpoint } from "@invoicer/platform/server-endpoints";

/** Endpoints whose DNS answers and health the test sets; refreshed only when the test says. */
function endpointsOf(urls: string[], dns: Record<string, string[] | Error>, serving: (url: string) => boolean) {
  return serverEndpoints(urls, {
    refreshMs: 3_600_000,
    checkHealth: async (url) => serving(url),
    resolve: async (host) => {
      const answer = dns[host];
      if (answer instanceof Error) throw answer;
      return answer ?? [];
    },
  });
}

const picks = (pick: () => Endpoint | undefined, n: number) => Array.from({ length: n }, () => pick()?.url);

describe("server endpoints", () => {
  it("resolves a name to every address it has, and takes a URL with an address as it is", async () => {
    const endpoints = endpointsOf(
      ["http://server-pods:8081", "http://127.0.0.9:9000"],
      { "server-pods": ["10.0.0.1", "10.0.0.2", "fd00::3"] },
      () => true,
    );
    await endpoints.ready;
    assert.deepEqual(
      endpoints.all().map((e) => e.url),
      ["http://10.0.0.1:8081", "http://10.0.0.2:8081", "http://[fd00::3]:8081", "http://127.0.0.9:9000"],
    );
    endpoints.close();
  });

  it("gives no call to an endpoint whose health is NOT_SERVING, and every endpoint a call when none is serving", async () => {
    let healthy = (url: string) => url !== "http://10.0.0.2:8081";
    const endpoints = endpointsOf(["http://server-pods:8081"], { "server-pods": ["10.0.0.1", "10.0.0.2"] }, (url) => healthy(url));
    await endpoints.ready;
    assert.deepEqual(new Set(picks(() => endpoints.pick(), 50)), new Set(["http://10.0.0.1:8081"]));
    assert.equal(endpoints.anyServing(), true);
    healthy = () => false;
    endpoints.unreachable(endpoints.all()[0]!);
    assert.equal(endpoints.anyServing(), false);
    assert.deepEqual(new Set(picks(() => endpoints.pick(), 50)), new Set(["http://10.0.0.1:8081", "http://10.0.0.2:8081"]));
    endpoints.close();
  });

  it("picks the less busy of two, and another than the one a retry avoids", async () => {
    const endpoints = endpointsOf(["http://a:1", "http://b:1"], { a: ["10.0.0.1"], b: ["10.0.0.2"] }, () => true);
    await endpoints.ready;
    const [a, b] = endpoints.all();
    a!.outstanding = 5;
    assert.deepEqual(new Set(picks(() => endpoints.pick(), 20)), new Set([b!.url]));
    assert.deepEqual(new Set(picks(() => endpoints.pick(b), 20)), new Set([a!.url]));
    endpoints.close();
  });

  it("keeps the last addresses while DNS fails, and tells who listens of endpoints a later answer drops", async () => {
    const dns: Record<string, string[] | Error> = { "server-pods": ["10.0.0.1", "10.0.0.2"] };
    let refreshes = 0;
    const endpoints = serverEndpoints(["http://server-pods:8081"], {
      refreshMs: 5,
      checkHealth: async () => (refreshes++, true),
      resolve: async (host) => {
        const answer = dns[host]!;
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
    await endpoints.ready;
    const removed: string[] = [];
    endpoints.onRemoved((gone) => removed.push(...gone.map((e) => e.url)));
    dns["server-pods"] = new Error("EAI_AGAIN");
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((r) => setImmediate(r));
    };
    const seen = refreshes;
    await until(() => refreshes >= seen + 4);
    assert.equal(endpoints.all().length, 2, "a failed lookup changes nothing");
    dns["server-pods"] = ["10.0.0.2"];
    await until(() => removed.length > 0);
    assert.deepEqual(removed, ["http://10.0.0.1:8081"]);
    assert.deepEqual(
      endpoints.all().map((e) => e.url),
      ["http://10.0.0.2:8081"],
    );
    endpoints.close();
  });
});
