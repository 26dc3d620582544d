// The writers' documents through the independent validators: every valid sample in every format with 0
// errors, and every sample a format must refuse refused with the rule the API will name.
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { writeCorpus } from "./corpus.ts";
import { validateDocuments, type DocumentValidation } from "./validate.ts";

describe("the e-invoice corpus, checked by the validators", { timeout: 15 * 60_000 }, () => {
  let corpus: Awaited<ReturnType<typeof writeCorpus>>;
  let results: DocumentValidation[] = [];
  before(async () => {
    corpus = await writeCorpus(join(tmpdir(), `einvoice-corpus-${process.pid}`));
    results = await validateDocuments([...corpus.valid, ...corpus.rejected.map((r) => r.document)]);
    const errors = results.slice(0, corpus.valid.length).reduce((n, r) => n + r.errors.length, 0);
    const versions = [...new Set(results.map((r) => r.validator))].join("; ");
    console.log(
      `e-invoice corpus: ${corpus.valid.length} checks of valid documents, ${errors} errors; ${corpus.rejected.length} to refuse; ${versions}`,
    );
  });

  it("finds no error in any valid document of any format", () => {
    for (const result of results.slice(0, corpus.valid.length)) assert.deepEqual(result.errors, [], `${result.kind} ${result.path}`);
  });

  it("refuses each document a format must refuse, naming the expected rule", () => {
    corpus.rejected.forEach(({ document, rule }, i) => {
      const found = results[corpus.valid.length + i]!.errors.map((e) => e.rule);
      assert.ok(found.includes(rule), `${document.kind} ${document.path}: expected ${rule}, got ${found.join(", ")}`);
    });
  });
});
