// Two structural checks of server/, consumer/ and gateway/ (in .ci/run; exits 1 on a cycle or a long function):
//   - import cycles: between modules, and between the folders of server/src (a folder importing
//     another that imports it back, through any modules);
//   - function length: each function's own lines (nested functions, including a service object's
//     methods, are counted on their own, not in the function around them), longest first.
//   npx tsx scripts/code-shape.ts [max-lines=60]
// With SPAN=1, each function counts every line it spans, its nested functions' too (for comparison).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const limit = Number(process.argv[2] ?? 60);
const roots = ["server/src", "consumer/src", "gateway/src"];
const files = roots.flatMap((r) =>
  readdirSync(r, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(r, f)),
);

// Imports of project modules (relative specifiers), as a graph of files.
const graph = new Map<string, string[]>();
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const deps = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/g)].map((m) =>
    relative(".", resolve(dirname(file), m[1]!)),
  );
  graph.set(
    file,
    deps.filter((d) => graph.has(d) || files.includes(d)),
  );
}
const cycles = (g: Map<string, string[]>) => {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, "open");
    stack.push(n);
    for (const d of g.get(n) ?? []) {
      if (state.get(d) === "open") found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, "done");
  };
  for (const n of g.keys()) if (!state.has(n)) visit(n);
  return found;
};
const folderOf = (f: string) => (f.startsWith("server/src/") && f.split("/").length > 3 ? f.split("/")[2]! : "(top)");
const folders = new Map<string, string[]>();
for (const [file, deps] of graph) {
  if (!file.startsWith("server/src/")) continue;
  const from = folderOf(file);
  const to = new Set([...(folders.get(from) ?? []), ...deps.map(folderOf).filter((d) => d !== from)]);
  folders.set(from, [...to]);
}
const moduleCycles = cycles(graph);
const folderCycles = cycles(folders);
console.log(`module cycles: ${moduleCycles.length}`);
for (const c of moduleCycles) console.log(`  ${c.join(" -> ")}`);
console.log(`server/src folder cycles: ${folderCycles.length}`);
for (const c of folderCycles) console.log(`  ${c.join(" -> ")}`);
for (const [from, to] of [...folders].sort()) console.log(`  ${from} -> ${to.sort().join(", ") || "-"}`);

// Function lengths: non-blank lines of each function, less the lines inside functions nested in it.
const lengths: { name: string; lines: number }[] = [];
for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const blank = new Set(source.text.split("\n").flatMap((l, i) => (l.trim() === "" ? [i] : [])));
  const nameOf = (n: ts.Node): string => {
    const named =
      (n as { name?: ts.Node }).name ??
      (ts.isVariableDeclaration(n.parent) || ts.isPropertyAssignment(n.parent) ? n.parent.name : undefined);
    return named ? named.getText(source) : `<anonymous>`;
  };
  const walk = (node: ts.Node, owner: { lines: Set<number> } | undefined) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = lineOf(node.getStart(source));
      const last = lineOf(node.end);
      const own = new Set<number>();
      for (let l = first; l <= last; l++) if (!blank.has(l)) own.add(l);
      // The lines strictly inside belong to this function, not to the one around it.
      if (owner && !process.env.SPAN) for (let l = first + 1; l < last; l++) owner.lines.delete(l);
      const me = { lines: own };
      ts.forEachChild(node, (c) => walk(c, me));
      lengths.push({ name: `${file}:${first + 1} ${nameOf(node)}`, lines: own.size });
      return;
    }
    ts.forEachChild(node, (c) => walk(c, owner));
  };
  walk(source, undefined);
}
lengths.sort((a, b) => b.lines - a.lines);
const over = lengths.filter((l) => l.lines > limit);
console.log(`functions over ${limit} lines: ${over.length}; the longest ten:`);
for (const l of lengths.slice(0, 10)) console.log(`  ${String(l.lines).padStart(4)}  ${l.name}`);
process.exitCode = moduleCycles.length + folderCycles.length + over.length > 0 ? 1 : 0;
