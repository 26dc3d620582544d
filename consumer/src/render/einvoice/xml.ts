// A small XML writer over plain objects. Not xmlbuilder2: it leaves "&" that starts an entity-like sequence
// unescaped (oozcitak/xmlbuilder2#117, still so in 4.0.3), so a description "AT&amp;T" would print as "AT&T".

/** An element's content: text, child elements in schema order, a repeated element, or absent (not written). */
export type XmlContent = string | XmlElement | XmlElement[] | undefined;
/** Child elements by qualified name, in the order the schema requires; "@name" is an attribute, "#" the text. */
export type XmlElement = { [name: string]: XmlContent };

/** Anything outside XML 1.0's Char production (C0 controls, lone surrogates, U+FFFE/U+FFFF) cannot be written at all. */
const notXmlChar = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const references: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/** Text that needs no escaping and holds nothing XML 1.0 cannot write: most of an invoice's text. */
const plainText = /^[^&<>"\t\n\r\u0000-\u001F\uD800-\uDFFF\uFFFE\uFFFF]*$/;

/** Escapes text (or, with `attribute`, an attribute value, whose whitespace a parser would otherwise normalise). */
export function escapeXml(value: string, attribute = false): string {
  if (plainText.test(value)) return value;
  const bad = notXmlChar.exec(value);
  if (bad) throw new RangeError(`U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} cannot be written in XML 1.0`);
  return value.replace(attribute ? /[&<>"\t\n\r]/g : /[&<>\r]/g, (c) => references[c]!);
}

// One pass over each element's keys with string concatenation: the writers build every format of every invoice with it.
function element(name: string, content: XmlContent, indent: string): string {
  if (content === undefined) return "";
  if (Array.isArray(content)) {
    let out = "";
    for (const c of content) out += element(name, c, indent);
    return out;
  }
  if (typeof content === "string") return `${indent}<${name}>${escapeXml(content)}</${name}>\n`;
  const text = content["#"];
  let start = `${indent}<${name}`;
  let children = "";
  const childIndent = indent + "  ";
  for (const key in content) {
    const value = content[key];
    if (key.charCodeAt(0) === 64 /* @ */) {
      if (typeof value === "string") start += ` ${key.slice(1)}="${escapeXml(value, true)}"`;
    } else if (typeof text !== "string") children += element(key, value, childIndent);
  }
  if (typeof text === "string") return `${start}>${escapeXml(text)}</${name}>\n`;
  return children ? `${start}>\n${children}${indent}</${name}>\n` : `${start}/>\n`;
}

/** Serialises one document: the root object's single key is the root element. */
export function xmlDocument(root: XmlElement): string {
  const [[name, content]] = Object.entries(root) as [[string, XmlContent]];
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element(name, content, "")}`;
}
