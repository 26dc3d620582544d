// What one tenant may hold of a gateway (gateway/src/tenant-capacity.ts), with two tenants.
import assert from "node:assert/strict";
import { it } from "node:test";
import { tenantCapacity } from "../../gateway/src/tenant-capacity.ts";

it("bounds each tenant's open calls and held bytes without touching another's, and all tenants' bytes together", () => {
  const capacity = tenantCapacity({ maxOpenCalls: 2, maxWaitingBytes: 100, maxWaitingBytesTotal: 150 });
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
