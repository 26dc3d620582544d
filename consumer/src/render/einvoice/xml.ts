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

/** Escapes text (or, with `attribute`, an attribute value, whose whitespace a parser would otherwise normalise). */
export function escapeXml(value: string, attribute = false): string {
  const bad = notXmlChar.exec(value);
  if (bad) throw new RangeError(`U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} cannot be written in XML 1.0`);
  return value.replace(attribute ? /[&<>"\t\n\r]/g : /[&<>\r]/g, (c) => references[c]!);
}

function attributesOf(e: XmlElement): string {
  return Object.entries(e)
    .filter(([name, value]) => name.startsWith("@") && typeof value === "string")
    .map(([name, value]) => ` ${name.slice(1)}="${escapeXml(value as string, true)}"`)
    .join("");
}

function element(name: string, content: XmlContent, indent: string): string {
  if (content === undefined) return "";
  if (Array.isArray(content)) return content.map((c) => element(name, c, indent)).join("");
  if (typeof content === "string") return `${indent}<${name}>${escapeXml(content)}</${name}>\n`;
  const start = `${indent}<${name}${attributesOf(content)}`;
  const text = content["#"];
  if (typeof text === "string") return `${start}>${escapeXml(text)}</${name}>\n`;
  const children = Object.entries(content)
    .filter(([child]) => !child.startsWith("@"))
    .map(([child, value]) => element(child, value, indent + "  "))
    .join("");
  return children ? `${start}>\n${children}${indent}</${name}>\n` : `${start}/>\n`;
}

/** Serialises one document: the root object's single key is the root element. */
export function xmlDocument(root: XmlElement): string {
  const [[name, content]] = Object.entries(root) as [[string, XmlContent]];
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element(name, content, "")}`;
}
