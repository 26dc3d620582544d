import { create } from "xmlbuilder2";

/** An element's content: text, child elements in schema order, a repeated element, or absent (not written). */
export type XmlContent = string | XmlElement | XmlElement[] | undefined;
/** Child elements by qualified name, in the order the schema requires; "@name" is an attribute, "#" the text. */
export type XmlElement = { [name: string]: XmlContent };

/** Serialises one document with xmlbuilder2, which escapes text and attributes and skips absent elements. */
export function xmlDocument(root: XmlElement): string {
  return create({ version: "1.0", encoding: "UTF-8" }, root).end({ prettyPrint: true });
}
