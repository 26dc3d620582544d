#!/usr/bin/env bash
# Writes the e-invoice corpus (scripts/einvoice-corpus.ts) and runs it through the validators' CLI, one JVM
# per kind: prints errors and warnings per kind of the valid documents, and for the documents that must be
# refused whether the validator named the expected rule. Exits 1 when a valid document has an error or a
# rejected one lacks its rule.   bash scripts/einvoice-validate.sh [validators' worktree=/work/wt-validate]
set -euo pipefail
validators=${1:-/work/wt-validate}
corpus=$PWD/.data/einvoice-corpus
bash scripts/with-node.sh 24 npx tsx scripts/einvoice-corpus.ts "$corpus"

# Runs one kind over the paths of a TSV (column 2 where column 1 is the kind) into <out>.jsonl.
validate() {
  local tsv=$1 kind=$2 out=$3
  mapfile -t files < <(awk -F'\t' -v k="$kind" '$1 == k { print $2 }' "$tsv")
  (cd "$validators" && npx tsx einvoice/validate-cli.ts "$kind" "${files[@]}") >"$out" || true
}

status=0
for kind in $(cut -f1 "$corpus/checks.tsv" | sort -u); do
  validate "$corpus/checks.tsv" "$kind" "$corpus/$kind.jsonl"
  npx tsx scripts/einvoice-report.ts valid "$kind" "$corpus/$kind.jsonl" "$corpus/checks.tsv" || status=1
done
for kind in $(cut -f1 "$corpus/rejected.tsv" | sort -u); do
  validate "$corpus/rejected.tsv" "$kind" "$corpus/rejected/$kind.jsonl"
  npx tsx scripts/einvoice-report.ts rejected "$kind" "$corpus/rejected/$kind.jsonl" "$corpus/rejected.tsv" || status=1
done
exit $status
