// A document's embedded font file (a subset of the face with the glyphs the document uses) made once per
// set of glyphs in a thread, instead of once per document.
import { deflateSync } from "node:zlib";

/** fontkit's subset of a font for one document (TTFSubset): the glyph ids in the order the document first used them. */
export interface FontSubset {
  glyphs: number[];
  encode(): Uint8Array;
}

/** pdfkit's font in a document (EmbeddedFont), the parts used here. */
interface DocumentFont {
  document: { ref(data?: object): PdfStream };
  embed(): void;
}

/** pdfkit's PDFReference, the parts used here. */
interface PdfStream {
  data: Record<string, unknown>;
  compress: boolean;
  write(chunk: Uint8Array): void;
  finalize(): void;
  end(chunk?: Uint8Array): void;
}

// A set of glyphs recurs when a document's text does up to the last new glyph (labels, a tenant's recurring
// invoice); most documents' regular face has a set of its own. A few files per face are kept (each ~10-25 kB,
// twice: as encoded and compressed), so that the misses cost little memory.
const maxFiles = 64;

/**
 * Makes a fontkit font's subsets encode each set of glyphs once: encoding (fontkit copies each glyph's
 * outline and re-encodes the tables with restructure) and compressing the font file took a fifth of a
 * short invoice's PDF rendered again and again. A subset's file is a function of its glyph ids in their order
 * alone (the outlines, metrics and hinting tables come from the face), so a kept file is the one encoding
 * would make again. The order is the order of first use, so a file is reused only by a document whose text
 * brings its glyphs in the same order (the bold face's labels more often than the regular face's values);
 * the least recently used file goes first.
 */
export function encodeSubsetsOnce(font: { createSubset(): FontSubset }) {
  const files = new Map<string, Uint8Array>();
  const createSubset = font.createSubset;
  font.createSubset = () => {
    const subset = createSubset.call(font);
    const encode = subset.encode;
    subset.encode = () => {
      const key = subset.glyphs.join(",");
      let file = files.get(key);
      if (file === undefined) {
        file = encode.call(subset);
        if (files.size >= maxFiles) files.delete(files.keys().next().value!); // the least recently used
      } else {
        files.delete(key); // to the end of the map, the most recently used
      }
      files.set(key, file);
      return file;
    };
    return subset;
  };
}

/** Each kept font file compressed, as pdfkit compresses a stream (zlib's defaults), while the file is kept. */
const compressed = new WeakMap<Uint8Array, Uint8Array>();

/**
 * Makes pdfkit embed the document font's file compressed from the thread's kept copy (encodeSubsetsOnce)
 * instead of compressing it again. The PDF's bytes are the same: the stream's dictionary gets its Length
 * and Filter in the order pdfkit writes them.
 */
export function compressFontFileOnce(font: DocumentFont) {
  const embed = font.embed;
  font.embed = () => {
    const document = font.document;
    const ref = document.ref;
    // embed() makes the font file's stream first, then ends it with the subset's file.
    document.ref = (data) => {
      document.ref = ref;
      const stream = ref.call(document, data);
      if (stream.compress) stream.end = (file) => endCompressed(stream, file!);
      return stream;
    };
    try {
      embed.call(font);
    } finally {
      document.ref = ref;
    }
  };
}

function endCompressed(stream: PdfStream, file: Uint8Array) {
  let deflated = compressed.get(file);
  if (deflated === undefined) compressed.set(file, (deflated = deflateSync(file)));
  stream.compress = false;
  stream.write(deflated);
  stream.data.Filter = "FlateDecode";
  stream.finalize();
}
