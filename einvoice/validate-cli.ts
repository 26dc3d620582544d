// Validates e-invoice files: tsx einvoice/validate-cli.ts <kind> <file>... (kinds: see documentKinds in validate.ts).
// Prints one JSON line per file (validator, rule set, errors, warnings); exits 1 when any file has an error.
import { documentKinds, validateDocuments, type DocumentKind } from "./validate.ts";

const [kind, ...paths] = process.argv.slice(2);
if (!documentKinds.includes(kind as DocumentKind) || paths.length === 0) {
  process.stderr.write(`usage: validate-cli.ts <${documentKinds.join("|")}> <file>...\n`);
  process.exit(2);
}
const results = await validateDocuments(paths.map((path) => ({ path, kind: kind as DocumentKind })));
for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`);
process.exitCode = results.some((r) => r.errors.length > 0) ? 1 : 0;
