// Who a connection counts as for MAX_CONNECTIONS_PER_ADDRESS: an IPv6 host must not get a fresh
// limit from each address of its /64.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addressGroup } from "@invoicer/platform/http-server/connection-limits";

describe("addressGroup", () => {
  it("counts the addresses of one IPv6 /64 as one, however they are written", () => {
    const group = "2001:db8:1:2::/64";
    for (const address of ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::9", "2001:DB8:0001:0002:ffff::", "2001:db8:1:2::1.2.3.4"])
      assert.equal(addressGroup(address), group, address);
    assert.notEqual(addressGroup("2001:db8:1:3::1"), group, "the next /64 is another");
    assert.equal(addressGroup("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(addressGroup("fe80::1%eth0"), "fe80:0:0:0::/64");
  });

  it("counts an IPv4 address by itself, written either way", () => {
    assert.equal(addressGroup("10.0.0.7"), "10.0.0.7");
    assert.equal(addressGroup("::ffff:10.0.0.7"), "10.0.0.7");
    assert.notEqual(addressGroup("10.0.0.8"), addressGroup("10.0.0.7"));
  });
});
