// The image's compile cache (scripts/fill-compile-cache.sh) holds every module a service loads: one
// module missing loads Node's TypeScript stripper into the process, about 20 MB of RSS for its life.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const cache = mkdtempSync(join(tmpdir(), "compile-cache-"));
// The script and the services run on this test's Node: the cache is kept per Node version.
const env = { PATH: [dirname(process.execPath), process.env.PATH].join(delimiter), NODE_COMPILE_CACHE: cache };

/** The TypeScript modules `args` loads whose stripped code came from the cache, and those it stripped (Node's debug lines). */
async function transpiles(args: string[]): Promise<{ cached: string[]; stripped: string[] }> {
  const child = await run(process.execPath, args, { env: { ...env, NODE_DEBUG_NATIVE: "COMPILE_CACHE" } }).catch(
    (err: { stderr: string; code: number }) => (assert.equal(err.code, 2, err.stderr), err),
  );
  const modules = (pattern: RegExp) => [...child.stderr.matchAll(pattern)].map((m) => m[1]!);
  return {
    cached: modules(/retrieving transpile cache for StrippedTypeScript (\S+)\.\.\.success/g),
    stripped: modules(/no transpile cache for StrippedTypeScript (\S+)/g),
  };
}

describe("the compile cache the image fills", () => {
  after(() => rmSync(cache, { recursive: true, force: true }));

  it("fills", async () => {
    await run("bash", ["scripts/fill-compile-cache.sh"], { env });
  });

  for (const entry of ["server/src/main.ts", "consumer/src/main.ts", "gateway/src/main.ts", "server/src/cli/migrate.ts"]) {
    it(`holds every module ${entry} loads`, async () => {
      const { cached, stripped } = await transpiles([entry]);
      assert.ok(cached.includes(new URL(`../../${entry}`, import.meta.url).href), `${entry} itself comes from the cache`);
      assert.deepEqual(stripped, []);
    });
  }

  it("holds every module of the consumer's render worker", async () => {
    const { cached, stripped } = await transpiles(["--input-type=module", "-e", 'await import("./consumer/src/render/worker.ts")']);
    assert.ok(cached.includes(new URL("../../consumer/src/render/worker.ts", import.meta.url).href));
    assert.deepEqual(stripped, []);
  });
});
