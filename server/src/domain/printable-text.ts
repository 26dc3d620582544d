// What the invoice PDF can print (decision 0036): text that reaches a document holds only characters its fonts
// draw, in an order pdfkit lays out. The PDF prints text in NFC, so that is the form checked.
import { pdfGlyphRanges } from "./pdf-glyphs.ts";

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

/** Why the invoice PDF cannot print `text`, naming its first character it cannot print; undefined when it prints all. */
export function unprintable(text: string): string | undefined {
  for (const c of text.normalize("NFC")) {
    const why = whyUnprintable(c);
    if (why !== undefined) return `cannot print ${codePointName(c)}: ${why}`;
  }
  return undefined;
}

function whyUnprintable(c: string): string | undefined {
  if (c === "\n" || c === "\t") return undefined; // laid out as a line break and spaces (control characters are checked before)
  if (rightToLeft.test(c)) return "the invoice PDF cannot lay out right-to-left text";
  if (invisible.test(c)) return "the invoice PDF does not show invisible formatting characters";
  if (privateUse.test(c)) return "private-use characters have no meaning the invoice PDF can print";
  if (!hasGlyph(c.codePointAt(0)!)) return "the invoice PDF's fonts have no glyph for it";
  return undefined;
}

/** "U+6F22 (漢)", the character itself left out where it would not show alone. */
function codePointName(c: string): string {
  const hex = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  return /[\p{C}\p{M}\p{Z}]/u.test(c) ? hex : `${hex} (${c})`;
}

function hasGlyph(codePoint: number): boolean {
  let low = 0;
  let high = pdfGlyphRanges.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [first, last] = pdfGlyphRanges[mid]!;
    if (codePoint < first) high = mid - 1;
    else if (codePoint > last) low = mid + 1;
    else return true;
  }
  return false;
}
