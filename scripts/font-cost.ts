// What a pair of faces (regular, bold) costs the PDF renderer: RSS and the time of a 100-line document drawn in them.
// Decision 0038 compares DejaVu Sans with a CJK face:
//   npm pack @expo-google-fonts/noto-sans-sc@0.4.3 && tar xzf expo-google-fonts-noto-sans-sc-0.4.3.tgz
//   node --expose-gc --import tsx scripts/font-cost.ts package/400Regular/NotoSansSC_400Regular.ttf package/700Bold/NotoSansSC_700Bold.ttf han
//   node --expose-gc --import tsx scripts/font-cost.ts "" "" greek        (DejaVu Sans, the consumer's faces)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import PDFDocument from "pdfkit";

const [regularFile, boldFile, text = "greek"] = process.argv.slice(2);
const require = createRequire(new URL("../consumer/package.json", import.meta.url));
const fontkit = createRequire(require.resolve("pdfkit"))("fontkit") as { create(data: Buffer): unknown };
const dejavu = join(dirname(require.resolve("dejavu-fonts-ttf/package.json")), "ttf");
const files = [regularFile || join(dejavu, "DejaVuSans.ttf"), boldFile || join(dejavu, "DejaVuSans-Bold.ttf")];
const rssMb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(1);

// 40 different common Han characters a line, ~4,000 distinct glyphs in a document, as a Chinese price list has.
const han = (n: number) => Array.from({ length: 40 }, (_, k) => String.fromCodePoint(0x4e00 + (((n * 40 + k) * 7) % 0x5000))).join("");
const greek = (n: number) => `Μελέτη σκοπιμότητας και τεκμηρίωση, Разработка программного обеспечения #${n}`;
const line = text === "han" ? han : greek;

async function render(fonts: unknown[], document: number): Promise<number> {
  const doc = new PDFDocument({ size: "A4", font: null as unknown as string });
  fonts.forEach((font, i) => doc.registerFont(`F${i}`, font as Uint8Array));
  const chunks: Buffer[] = [];
  doc.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve) => doc.on("end", () => resolve()));
  for (let l = 0; l < 100; l++)
    doc
      .font(l % 10 === 0 ? "F1" : "F0")
      .fontSize(9)
      .text(line(document * 100 + l));
  doc.end();
  await done;
  return Buffer.concat(chunks).length;
}

globalThis.gc?.();
const before = rssMb();
const fonts = files.map((f) => fontkit.create(readFileSync(f)));
await render(fonts, 0);
const afterFirst = rssMb();
const times: number[] = [];
let size = 0;
for (let d = 1; d <= 15; d++) {
  const start = performance.now();
  size = await render(fonts, d);
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const result = { before, afterFirst, after16: rssMb(), medianMs: times[7]!.toFixed(1), pdfKb: Math.round(size / 1024) };
process.stdout.write(`${JSON.stringify({ files, text, rssMb: result })}\n`);
