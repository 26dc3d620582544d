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

it("lets each tenant open its burst of streams at once, then one per 1/rate of a second, without touching another's", () => {
  let clock = 1_000;
  const capacity = tenantCapacity(limits, () => clock);
  assert.deepEqual(
    [1, 2, 3].map(() => capacity.openStream("a")),
    [0, 0, 0],
    "a's burst of 3",
  );
  assert.equal(capacity.openStream("a"), 100, "a's fourth waits a tenth of a second (10 a second)");
  assert.equal(capacity.openStream("b"), 0, "b is not a");
  clock += 60;
  assert.equal(capacity.openStream("a"), 40, "60 ms later, 40 ms to go");
  clock += 40;
  assert.equal(capacity.openStream("a"), 0, "a token is due");
  assert.equal(capacity.openStream("a"), 100, "and taken");
});
