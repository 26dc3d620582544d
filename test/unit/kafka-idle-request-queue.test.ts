// kafkajs's request queue on an idle connection (patches/kafkajs+2.2.4.patch, tulios/kafkajs#1751): with
// nothing queued and no throttle it sets no timer. Unpatched it set one of -Date.now() ms, which Node runs
// after 1 ms, finds the queue empty and sets again, for ever (and warns TimeoutNegativeWarning from Node 23).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { it } from "node:test";

const require = createRequire(import.meta.url);
const RequestQueue = require("kafkajs/src/network/requestQueue/index.js");

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const requestQueue = () =>
  new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "invoicer-test",
    broker: "localhost:9092",
    logger: silent,
  });

it("sets no timer when nothing is queued and nothing throttles", (t) => {
  const queue = requestQueue();
  t.after(() => queue.destroy());
  queue.checkPendingRequests(); // what answering the last request in flight does
  assert.equal(queue.throttleCheckTimeoutId, null);
});

it("still checks again when the broker's throttle ends", (t) => {
  const queue = requestQueue();
  t.after(() => queue.destroy());
  queue.throttledUntil = Date.now() + 60_000;
  queue.checkPendingRequests();
  assert.notEqual(queue.throttleCheckTimeoutId, null);
});
