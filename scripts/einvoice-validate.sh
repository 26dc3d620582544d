#!/usr/bin/env bash
# Writes the e-invoice corpus and runs every check of its checks.tsv through the validators' CLI (one JVM per
# kind), printing errors and warnings per kind; exits 1 when any document has an error.
#   bash scripts/einvoice-validate.sh [validators' worktree=/work/wt-validate]
set -euo pipefail
validators=${1:-/work/wt-validate}
corpus=$PWD/.data/einvoice-corpus
bash scripts/with-node.sh 24 npx tsx scripts/einvoice-corpus.ts "$corpus"
status=0
for kind in $(cut -f1 "$corpus/checks.tsv" | sort -u); do
  mapfile -t files < <(awk -F'\t' -v k="$kind" '$1 == k { print $2 }' "$corpus/checks.tsv")
  (cd "$validators" && npx tsx einvoice/validate-cli.ts "$kind" "${files[@]}") >"$corpus/$kind.jsonl" || status=1
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const count = (k) => lines.reduce((n, l) => n + (l[k] ?? []).length, 0);
    console.log(`${process.argv[2]}: ${lines.length} files, ${count("errors")} errors, ${count("warnings")} warnings`);
    for (const l of lines) for (const e of l.errors ?? []) console.log(`  ${l.path.split("/").pop()}: ${e.rule} ${e.message}`);
  ' "$corpus/$kind.jsonl" "$kind"
done
exit $status
