// The README's SDK sample is examples/sdk-client.ts verbatim; this runs it against a real stack.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { after, before, it } from "node:test";
import { startStack, type Stack } from "./support/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

it("shows in the README exactly the example that runs", () => {
  const example = readFileSync("examples/sdk-client.ts", "utf8");
  assert.ok(readFileSync("README.md", "utf8").includes("```ts\n" + example + "```"), "README carries examples/sdk-client.ts verbatim");
});

it("creates an invoice through the gateway with the SDK", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/sdk-client.ts"], {
    env: { ...process.env, INVOICER_URL: stack.gatewayUrl, INVOICER_API_KEY: stack.tenantA.apiKey },
  });
  assert.equal(stdout.trim(), "invoice 1: total 53550 minor units of EUR");
});
