// npm run lint:ts: typescript-eslint's recommended rules, and the type-aware ones that catch what
// a server must not do (a promise nobody awaits or catches, a promise where a callback is expected);
// the code's shape: no import cycle, server/src's folders in layers, no function over 60 lines.
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

// server/src's folders, lowest first: each may import only the ones before it ("top" is server/src/*.ts).
const serverLayers = ["shared", "db", "domain", "outbox", "rpc", "invoices", "documents", "top", "cli"];
const layerPath = (layer) => (layer === "top" ? "server/src/*.ts" : `server/src/${layer}/**`);
const serverLayerZones = serverLayers.slice(0, -1).map((layer, i) => ({
  target: layerPath(layer),
  from: serverLayers.slice(i + 1).map(layerPath),
  message: `server/src layers, lowest first: ${serverLayers.join(", ")}; a folder imports only the ones before it.`,
}));

export default tseslint.config(
  { ignores: ["**/node_modules/", "gen/", "conformance/gen/", "web/dist/", ".data/", "bench/results/"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe and it return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }] },
      ],
      // Fastify and its plugins take async hooks where their types say void.
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false, properties: false } }],
      // `ok ? a() : b()` and `x && y()` as statements are this codebase's style.
      "@typescript-eslint/no-unused-expressions": ["error", { allowShortCircuit: true, allowTernary: true }],
      // Input validation here looks for control characters on purpose.
      "no-control-regex": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Imports are spelled with their .ts extension and workspaces resolve through node_modules, so node's resolution finds them.
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": importX.flatConfigs.typescript.settings["import-x/extensions"],
      "import-x/parsers": importX.flatConfigs.typescript.settings["import-x/parsers"],
      "import-x/resolver-next": [createNodeResolver()],
    },
    rules: {
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { zones: serverLayerZones }],
      // Counts a function's nested functions too; what was over it on adoption is in eslint-suppressions.json.
      "max-lines-per-function": ["error", { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  // Test data corpora: one function per family of hostile requests or of e-invoice cases, long by nature.
  { files: ["test/support/hostile-corpus.ts", "test/support/einvoice-samples.ts"], rules: { "max-lines-per-function": "off" } },
  { files: ["**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
);
