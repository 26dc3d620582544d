// What the invoice PDF can print (decision 0039): text that reaches a document holds only characters its fonts
// draw, in an order pdfkit lays out. The PDF prints text in NFC, so that is the form checked.
import { printableRanges } from "./printable-ranges.ts";

// Scripts written right to left (ISO 15924 codes): pdfkit lays every line out left to right, so their words would
// come out in the wrong order. Script, not Script_Extensions: marks and punctuation shared with them (U+0303, U+060C) stay.
const rightToLeftScripts =
  "Adlm Arab Armi Avst Chrs Cprt Elym Gara Hatr Hebr Hung Khar Lydi Mand Mani Mend Merc Mero " +
  "Narb Nbat Nkoo Orkh Ougr Palm Phli Phlp Phnx Prti Rohg Samr Sarb Sogd Sogo Syrc Thaa Yezi";
const rightToLeft = new RegExp(
  rightToLeftScripts
    .split(" ")
    .map((script) => `\\p{sc=${script}}`)
    .join("|"),
  "u",
);
/** Format characters (joiners, direction marks, soft hyphens), line and paragraph separators: nothing to see in a PDF. */
const invisible = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]/u;
/** Private-use characters mean whatever a font draws for them. */
const privateUse = /\p{Co}/u;
const noGlyph = "the invoice PDF's fonts have no glyph for it";

/** Why the invoice PDF cannot print `text`, naming its first character it cannot print; undefined when it prints all. */
export function unprintable(text: string): string | undefined {
  // for...of, not an index loop over codePointAt: Node 24.22's Maglev miscompiled that (U+1F600 read as U+D83E, 4 runs in 15).
  for (const character of text.normalize("NFC")) {
    const c = character.codePointAt(0)!;
    if (!isPrintable(c)) return `cannot print ${codePointName(c)}: ${refusal(character) ?? noGlyph}`;
  }
  return undefined;
}

/** Why the invoice PDF does not print a character even where its fonts have a glyph for it; undefined when it does. */
export function refusal(c: string): string | undefined {
  if (rightToLeft.test(c)) return "the invoice PDF cannot lay out right-to-left text";
  if (invisible.test(c)) return "the invoice PDF does not show invisible formatting characters";
  if (privateUse.test(c)) return "private-use characters have no meaning the invoice PDF can print";
  return undefined;
}

/** The printable ones of the code points the fonts draw, as [first, last] ranges (scripts/printable-ranges.ts writes them). */
export function printableRangesOf(codePointsTheFontsDraw: number[]): Array<[first: number, last: number]> {
  const ranges: Array<[number, number]> = [];
  for (const c of codePointsTheFontsDraw) {
    if (refusal(String.fromCodePoint(c)) !== undefined) continue;
    const last = ranges.at(-1);
    if (last && last[1] === c - 1) last[1] = c;
    else ranges.push([c, c]);
  }
  return ranges;
}

/** "U+6F22 (漢)", the character itself left out where it would not show alone. */
function codePointName(codePoint: number): string {
  const c = String.fromCodePoint(codePoint);
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
  return /[\p{C}\p{M}\p{Z}]/u.test(c) ? hex : `${hex} (${c})`;
}

// One bit per code point, 16 KB: regular expressions over these sets, once warm, added 8-12 MB to the process's RSS.
const printableBits = new Uint8Array(((printableRanges.at(-1)?.[1] ?? 0) >> 3) + 1);
for (const [first, last] of printableRanges) for (let c = first; c <= last; c++) printableBits[c >> 3]! |= 1 << (c & 7);

/** Line breaks and tabs are laid out as such (control characters are checked before). */
function isPrintable(c: number): boolean {
  return c === 0x0a || c === 0x09 || (((printableBits[c >> 3] ?? 0) >> (c & 7)) & 1) === 1;
}
