// What one tenant may hold of a gateway (gateway/src/tenant-capacity.ts), with two tenants.
import assert from "node:assert/strict";
import { it } from "node:test";
import { tenantCapacity } from "../../gateway/src/tenant-capacity.ts";

const limits = { maxOpenCalls: 10, maxWaitingBytes: 100, maxWaitingBytesTotal: 100, streamOpensPerSecond: 10, streamOpensBurst: 3 };

it("bounds each tenant's open calls and held bytes without touching another's, and all tenants' bytes together", () => {
  const capacity = tenantCapacity({ ...limits, maxOpenCalls: 2, maxWaitingBytes: 100, maxWaitingBytesTotal: 150 });
  assert.equal(capacity.openCall("a"), true);
  assert.equal(capacity.openCall("a"), true);
  assert.equal(capacity.openCall("a"), false, "a's third call");
  assert.equal(capacity.openCall("b"), true, "b is not a");
  capacity.closeCall("a");
  assert.equal(capacity.openCall("a"), true, "a slot comes back when a call closes");

  assert.equal(capacity.hold("a", 100), true);
  assert.equal(capacity.hold("a", 1), false, "one byte past a's bound");
  assert.equal(capacity.hold("b", 50), true);
  assert.equal(capacity.hold("b", 1), false, "one byte past the bound of all tenants together");
  capacity.release("a", 100);
  assert.equal(capacity.hold("b", 50), true, "released bytes count for everyone again");
  assert.equal(capacity.hold("b", 1), false, "b's own bound");
});

it("lets each tenant open its burst of streams at once and as many more in turn, one per 1/rate of a second, without touching another's", () => {
  let clock = 1_000;
  const capacity = tenantCapacity(limits, () => clock);
  const turns = (n: number, tenant = "a") => Array.from({ length: n }, () => capacity.openStream(tenant));
  assert.deepEqual(
    turns(3),
    [0, 0, 0].map((ms) => ({ kind: "in", ms })),
    "a's burst of 3, at once",
  );
  assert.deepEqual(
    turns(3),
    [100, 200, 300].map((ms) => ({ kind: "in", ms })),
    "3 more, each a tenth of a second (10 a second) after the one before",
  );
  assert.deepEqual(capacity.openStream("a"), { kind: "refused", retryMs: 100 }, "a seventh: the queue is full for a tenth of a second");
  assert.deepEqual(capacity.openStream("b"), { kind: "in", ms: 0 }, "b is not a");
  clock += 150;
  assert.deepEqual(capacity.openStream("a"), { kind: "in", ms: 250 }, "150 ms later one turn is free again: after the three waiting");
  assert.deepEqual(capacity.openStream("a"), { kind: "refused", retryMs: 50 });
});
