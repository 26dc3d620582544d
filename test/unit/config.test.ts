// The environment's lists: what the services accept, and the one line they print for what they do not.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, envReader } from "@invoicer/platform/config";

describe("envReader's lists", () => {
  it("reads comma-separated server URLs, broker addresses and lists, trimmed, empty items dropped", () => {
    const env = envReader({ SERVERS: " http://a:1, http://b:2 ,", BROKERS: "k1:9092,k2:9093", TAGS: "x, ,y" });
    assert.deepEqual(env.urls("SERVERS", "http://c:3"), ["http://a:1", "http://b:2"]);
    assert.deepEqual(env.urls("UNSET", "http://c:3"), ["http://c:3"]);
    assert.deepEqual(env.brokers("BROKERS"), ["k1:9092", "k2:9093"]);
    assert.deepEqual(env.list("TAGS"), ["x", "y"]);
    assert.deepEqual(env.list("UNSET", ["z"]), ["z"]);
  });

  it("refuses malformed values, naming the variable", () => {
    const env = envReader({ SERVERS: "https://a:1", BROKERS: "k1", LEVEL: "loud" });
    assert.throws(
      () => env.urls("SERVERS", ""),
      new ConfigError('SERVERS must be http://host:port[,http://host:port...], got "https://a:1"'),
    );
    assert.throws(() => env.brokers("BROKERS"), new ConfigError('BROKERS must be host:port[,host:port...], got "k1"'));
    assert.throws(() => env.brokers("UNSET"), new ConfigError("UNSET is required (comma-separated host:port list)"));
    assert.throws(
      () => env.logLevel("LEVEL"),
      new ConfigError('LEVEL must be one of trace, debug, info, warn, error, fatal, silent; got "loud"'),
    );
    assert.equal(env.logLevel("UNSET"), "info");
  });
});
