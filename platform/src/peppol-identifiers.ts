// Peppol BIS 2026.5's fatal checks of an identifier by its scheme (PEPPOL-COMMON-R040 to R053), computed as the
// rules' own XSLT functions (u:gln, u:mod11, u:mod97-0208, u:abn, u:checkSEOrgnr) compute them, so that the API
// names a Peppol endpoint the validator would refuse before the document exists. The scheme checks Peppol
// flags as warnings (R044 to R047, R054 to R057: Italian and Dutch identifiers) leave a document valid, so
// they refuse nothing here.
// einvoice/corpus.test.ts checks each rule's sample against the validator itself.

export interface IdentifierRule {
  rule: string;
  /** What the identifier must be, for the refusal. */
  description: string;
  valid: (id: string) => boolean;
}

const digits = (id: string) => [...id].map(Number);

/** u:gln: digits whose last is the GS1 check digit (weights 3, 1, 3, ... from the right of the rest). */
function isGln(id: string): boolean {
  if (!/^\d+$/.test(id)) return false;
  const sum = digits(id.slice(0, -1))
    .reverse()
    .reduce((s, d, i) => s + d * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === Number(id.at(-1));
}

/** u:mod11: weights 2 to 7 from the right of all but the last digit, which is 11 minus the sum modulo 11. */
function isMod11(id: string): boolean {
  const sum = digits(id.slice(0, -1))
    .reverse()
    .reduce((s, d, i) => s + d * ((i % 6) + 2), 0);
  return Number(id) > 0 && (11 - (sum % 11)) % 11 === Number(id.at(-1));
}

/** u:mod97-0208: the last two digits are 97 minus the first eight modulo 97. */
const isBelgianEnterprise = (id: string) => 97 - (Number(id.slice(0, 8)) % 97) === Number(id.slice(8));

/** u:abn: the first digit less one, times 10, plus the others weighted 1, 3, 5, ..., 19, is a multiple of 89. */
function isAbn(id: string): boolean {
  const [first = 0, ...rest] = digits(id);
  return ((first - 1) * 10 + rest.reduce((s, d, i) => s + d * (2 * i + 1), 0)) % 89 === 0;
}

/** u:checkSEOrgnr: ten digits whose last is the Luhn check digit of the first nine. */
function isSwedishOrganisation(id: string): boolean {
  if (!/^\d{10}$/.test(id)) return false;
  const sum = digits(id.slice(0, 9))
    .reverse()
    .reduce((s, d, i) => s + (i % 2 === 0 ? ((d * 2) % 10) + Math.floor((d * 2) / 10) : d), 0);
  return (10 - (sum % 10)) % 10 === Number(id[9]);
}

const pattern = (re: RegExp) => (id: string) => re.test(id);

/** The identifier rules of Peppol's EAS schemes that have one, by scheme. */
export const peppolIdentifierRules: Readonly<Record<string, IdentifierRule>> = {
  "0088": { rule: "PEPPOL-COMMON-R040", description: "a GLN (0088) must be digits ending in a valid GS1 check digit", valid: isGln },
  "0192": {
    rule: "PEPPOL-COMMON-R041",
    description: "a Norwegian organization number (0192) must be 9 digits, mod 11",
    valid: (id) => /^\d{9}$/.test(id) && isMod11(id),
  },
  "0184": {
    rule: "PEPPOL-COMMON-R042",
    description: "a Danish CVR number (0184) must be 8 digits, or DK and 8 digits",
    valid: pattern(/^(?:DK)?\d{8}$/),
  },
  "0096": { rule: "PEPPOL-COMMON-R052", description: "a Danish P number (0096) must be 10 digits", valid: pattern(/^\d{10}$/) },
  "0198": { rule: "PEPPOL-COMMON-R053", description: "a Danish SE number (0198) must be DK and 8 digits", valid: pattern(/^DK\d{8}$/) },
  "0208": {
    rule: "PEPPOL-COMMON-R043",
    description: "a Belgian enterprise number (0208) must be 10 digits, mod 97",
    valid: (id) => /^\d{10}$/.test(id) && isBelgianEnterprise(id),
  },
  "0007": {
    rule: "PEPPOL-COMMON-R049",
    description: "a Swedish organization number (0007) must be 10 digits with a valid check digit",
    valid: isSwedishOrganisation,
  },
  "0151": {
    rule: "PEPPOL-COMMON-R050",
    description: "an Australian Business Number (0151) must be 11 digits with valid check digits",
    valid: (id) => /^\d{11}$/.test(id) && isAbn(id),
  },
};
