// Validates e-invoices with independent validators from Maven Central, never with this project's own reading
// of the rules: phive (the rule sets of KoSIT, OpenPeppol and CEN) for XML, Mustang-CLI (veraPDF's PDF/A-3 check
// and the Factur-X/XRechnung Schematron) for Factur-X PDFs. einvoice/install.sh installs both.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { XMLParser } from "fast-xml-parser";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "validator", "target");
const run = promisify(execFile);

/** The phive rule set (VESID) each XML kind is validated against. */
export const ruleSets = {
  "xrechnung-ubl-invoice": "de.xrechnung:ubl-invoice:3.0.2",
  "xrechnung-ubl-creditnote": "de.xrechnung:ubl-creditnote:3.0.2",
  "xrechnung-cii": "de.xrechnung:cii:3.0.2",
  "peppol-ubl-invoice": "eu.peppol.bis3:invoice:2026.5",
  "peppol-ubl-creditnote": "eu.peppol.bis3:creditnote:2026.5",
  "en16931-ubl-invoice": "eu.cen.en16931:ubl:1.3.16",
  "en16931-ubl-creditnote": "eu.cen.en16931:ubl-creditnote:1.3.16",
  "en16931-cii": "eu.cen.en16931:cii:1.3.16",
} as const;

export type XmlKind = keyof typeof ruleSets;
export type DocumentKind = XmlKind | "factur-x-pdf";
export const documentKinds = [...(Object.keys(ruleSets) as XmlKind[]), "factur-x-pdf"] as DocumentKind[];

export interface EInvoiceDocument {
  path: string;
  kind: DocumentKind;
}

/** One failed rule: its id as the validator names it (BR-CO-15, BR-DE-15, PEPPOL-EN16931-R001, ...). */
export interface Finding {
  rule: string;
  message: string;
  location: string;
}

export interface DocumentValidation extends EInvoiceDocument {
  /** The validator and its version, e.g. "phive 12.0.3 (phive-rules-xrechnung 4.2.3)" or "Mustang 2.26.0". */
  validator: string;
  /** The rule set the document was checked against, with its version. */
  ruleSet: string;
  errors: Finding[];
  warnings: Finding[];
}

export interface ValidationLimits {
  /** Bound of the one phive run over all XML documents. */
  xmlTimeoutMs: number;
  /** Bound of each Mustang run (one per PDF). */
  pdfTimeoutMs: number;
  /** Bound of what a validator may print. */
  maxOutputBytes: number;
}

export const defaultLimits: ValidationLimits = {
  xmlTimeoutMs: 10 * 60_000,
  pdfTimeoutMs: 2 * 60_000,
  maxOutputBytes: 64 * 1024 * 1024,
};

/** Installs the validators when they are not yet (Maven, the first time ~1 minute). */
export async function installValidators(): Promise<void> {
  await run("bash", [join(here, "install.sh")], { timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 });
}

/** Validates each document against its kind's rule set; the results are in the documents' order. */
export async function validateDocuments(
  documents: EInvoiceDocument[],
  limits: ValidationLimits = defaultLimits,
): Promise<DocumentValidation[]> {
  await installValidators();
  const xml = documents.filter((d) => d.kind !== "factur-x-pdf");
  const pdfs = documents.filter((d) => d.kind === "factur-x-pdf");
  // The one phive run and the Mustang runs (one after another) overlap: each JVM spends its start on one core.
  const [xmlResults, pdfResults] = await Promise.all([validateXml(xml, limits), validatePdfs(pdfs, limits)]);
  const results = new Map<EInvoiceDocument, DocumentValidation>();
  xml.forEach((d, i) => results.set(d, xmlResults[i]!));
  pdfs.forEach((d, i) => results.set(d, pdfResults[i]!));
  return documents.map((d) => results.get(d)!);
}

interface PhiveHeader {
  phive: string;
  rules: Record<string, string>;
}
interface PhiveLine {
  file: string;
  vesid: string;
  name?: string;
  fatal?: string;
  errors?: Finding[];
  warnings?: Finding[];
}

async function validateXml(documents: EInvoiceDocument[], limits: ValidationLimits): Promise<DocumentValidation[]> {
  if (documents.length === 0) return [];
  const input = documents.map((d) => `${ruleSets[d.kind as XmlKind]}\t${absolute(d.path)}\n`).join("");
  const classpath = `${join(target, "classes")}:${readFileSync(join(target, "classpath.txt"), "utf8").trim()}`;
  const stdout = await java(["-cp", classpath, "Validate"], input, limits.xmlTimeoutMs, limits.maxOutputBytes);
  const [header, ...lines] = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as unknown);
  const { phive, rules } = header as PhiveHeader;
  if (lines.length !== documents.length) throw new Error(`phive answered ${lines.length} of ${documents.length} files`);
  return (lines as PhiveLine[]).map((line, i) => {
    if (line.fatal) throw new Error(`phive: ${line.fatal}: ${line.vesid} ${line.file}`);
    const rulesArtifact = line.vesid.startsWith("de.xrechnung") ? "xrechnung" : line.vesid.startsWith("eu.peppol") ? "peppol" : "en16931";
    return {
      ...documents[i]!,
      validator: `phive ${phive} (phive-rules-${rulesArtifact} ${rules[rulesArtifact]})`,
      ruleSet: `${line.vesid}: ${line.name}`,
      errors: line.errors ?? [],
      warnings: line.warnings ?? [],
    };
  });
}

type ReportNode = { [name: string]: unknown };
const reportParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});
/** The first child element `name` of a parsed report node. */
const child = (node: ReportNode | undefined, name: string) => (node?.[name] as ReportNode[] | undefined)?.[0];

async function validatePdfs(documents: EInvoiceDocument[], limits: ValidationLimits): Promise<DocumentValidation[]> {
  const results: DocumentValidation[] = [];
  for (const pdf of documents) results.push(await validatePdf(pdf, limits));
  return results;
}

/** Mustang-CLI's jar, which the install names with its version. */
function mustang(): { jar: string; version: string } {
  const lib = join(target, "lib");
  for (const file of readdirSync(lib)) {
    const version = /^Mustang-CLI-(.+)\.jar$/.exec(file)?.[1];
    if (version) return { jar: join(lib, file), version };
  }
  throw new Error(`no Mustang-CLI jar in ${lib}`);
}

async function validatePdf(document: EInvoiceDocument, limits: ValidationLimits): Promise<DocumentValidation> {
  const { jar, version } = mustang();
  const args = ["-jar", jar, "--action", "validate", "--disable-file-logging", "--source", absolute(document.path)];
  const validation = child(reportParser.parse(await java(args, "", limits.pdfTimeoutMs, limits.maxOutputBytes)), "validation");
  if (!validation) throw new Error(`Mustang printed no report for ${document.path}`);
  const pdf = child(validation, "pdf");
  // Mustang validates a bare XML file too, then with no PDF/A check: that is no Factur-X document.
  const notPdf = { rule: "not-a-pdf", message: "Mustang found no PDF to check", location: "" };
  const errors = [...(pdf ? pdfAFailures(pdf) : [notPdf]), ...findings(validation, ["error", "exception", "fatal"])];
  const warnings = findings(validation, ["warning", "notice"]);
  // The summary is Mustang's verdict: an invalid one without a message recognised here still fails.
  const status = String(child(validation, "summary")?.status);
  if (status !== "valid" && errors.length === 0) errors.push({ rule: "mustang-summary", message: status, location: "" });
  const info = child(child(validation, "xml"), "info");
  const profile = (info?.profile as string[] | undefined)?.[0] ?? "no XML";
  return { ...document, validator: `Mustang ${version}`, ruleSet: `PDF/A-3 (veraPDF) + ${profile}`, errors, warnings };
}

/** veraPDF's failed PDF/A assertions, which Mustang prints only as their toString(); one per rule. */
function pdfAFailures(pdf: ReportNode): Finding[] {
  const assertion = /specification=([^,]+), clause=([^,]+), testNumber=(\d+)\], status=failed, message=(.*?), location=/g;
  const byRule = new Map<string, Finding>();
  for (const [, spec, clause, test, message] of String(pdf["#text"] ?? "").matchAll(assertion)) {
    const rule = `${spec} ${clause}-${test}`;
    byRule.set(rule, { rule, message: message!, location: "" });
  }
  return [...byRule.values()];
}

/** Every message under a report node whose element name is one of `kinds`, at any depth. */
function findings(node: ReportNode, kinds: string[]): Finding[] {
  return Object.entries(node).flatMap(([name, children]) => {
    if (!Array.isArray(children)) return [];
    return children.flatMap((element: unknown) => {
      if (typeof element !== "object" || element === null) return [];
      const message = element as ReportNode;
      if (!kinds.includes(name)) return findings(message, kinds);
      const text = String(message["#text"] ?? "").trim();
      // Schematron messages carry their rule id as "[ID BR-DE-15]"; Mustang's own checks have a numeric type.
      const rule = /\[ID ([^\]]+)\]/.exec(text)?.[1] ?? `mustang-${String(message.type ?? name)}`;
      return [{ rule, message: text, location: String(message.location ?? "") }];
    });
  });
}

/** Runs a JVM and returns what it printed, also when it exits non-zero (Mustang does for an invalid file). */
async function java(args: string[], input: string, timeout: number, maxBuffer: number): Promise<string> {
  // C1 only and the serial collector: on 2 cores, C2's compiler threads cost more than they win in these short runs
  // (phive over 200 small documents: 11-12 s against 24-30 s; one Mustang run: 7-8 s against 19-20 s).
  // Java takes its charset for output and file names from the locale: under LANG=C "übermittelt" came out as
  // "?bermittelt" and a file named "rechnung-ü.xml" was not found.
  const env = { ...process.env, LC_ALL: "C.UTF-8" };
  const started = run("java", ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", ...args], {
    env,
    timeout,
    maxBuffer,
    killSignal: "SIGKILL",
  });
  started.child.stdin?.end(input);
  try {
    return (await started).stdout;
  } catch (error) {
    const failed = error as { killed?: boolean; code?: unknown; stdout?: string; message: string };
    if (failed.killed || typeof failed.code !== "number" || !failed.stdout) throw error;
    return failed.stdout;
  }
}

function absolute(path: string): string {
  if (/[\t\n]/.test(path)) throw new Error(`a document path may not contain a tab or a line break: ${JSON.stringify(path)}`);
  return resolve(path);
}
