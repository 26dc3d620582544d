import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  CreateInvoiceRequestSchema,
  VatCategory,
  type CreateInvoiceRequest,
  type Invoice,
  type LineInputSchema,
  type PartySchema,
} from "@invoicer/sdk";
import { clearViolations, showFormError, showViolations, violationsOf } from "./field-errors.ts";
import type { InvoicerClient } from "./invoicer-client.ts";
import { parseAmount, parseQuantity, parseVatRate } from "./money.ts";

type Violation = { field: string; description: string };

/** BT-151's choices; "automatic" leaves it unspecified (standard above 0 %, zero rated at 0 %). */
const categoryOptions = [
  ["", "automatic"],
  ["STANDARD", "S standard"],
  ["ZERO_RATED", "Z zero rated"],
  ["EXEMPT", "E exempt"],
  ["REVERSE_CHARGE", "AE reverse charge"],
  ["INTRA_COMMUNITY", "K intra-community"],
  ["EXPORT", "G export"],
  ["NOT_SUBJECT", "O not subject"],
]
  .map(([name, label]) => `<option value="${name}">${label}</option>`)
  .join("");

/** A group of text fields, or undefined when a person filled none of them. */
const given = <T extends Record<string, string>>(fields: T): T | undefined => (Object.values(fields).some(Boolean) ? fields : undefined);

/** The new-invoice form: lines added and removed, amounts parsed exactly, the server's violations shown at their fields. */
export function invoiceForm(
  form: HTMLFormElement,
  client: () => InvoicerClient,
  describe: (err: unknown) => string,
  onIssued: (invoice: Invoice) => void,
) {
  const lines = form.querySelector<HTMLTableSectionElement>("#line-rows")!;
  const summary = form.querySelector<HTMLElement>("#form-errors")!;
  const result = form.querySelector<HTMLElement>("#form-result")!;
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? "";
  // One key per invoice being written: a retry after a lost reply cannot issue it twice.
  let idempotencyKey = crypto.randomUUID();

  const addLine = () => {
    const row = document.createElement("tr");
    row.innerHTML = `<td><input data-part="description"></td><td><input data-part="quantity" value="1" size="6" inputmode="decimal"></td>
      <td><input data-part="unit_code" value="C62" size="4"></td>
      <td><input data-part="unit_price_minor" size="10" inputmode="decimal" placeholder="0.00"></td>
      <td><input data-part="vat_rate_bp" value="19" size="5" inputmode="decimal"></td>
      <td><select data-part="vat_category">${categoryOptions}</select></td>
      <td><input data-part="vat_exemption_reason_code" list="vatex-codes" size="12"></td>
      <td><input data-part="vat_exemption_reason"></td>
      <td><button type="button" class="remove-line" title="Remove line">✕</button></td>`;
    row.querySelector("button")!.addEventListener("click", () => {
      row.remove();
      numberLines();
    });
    lines.append(row);
    numberLines();
  };
  // Inputs are named like the request's fields, so a violation of lines[1].quantity finds its input.
  const numberLines = () =>
    [...lines.rows].forEach((row, i) => {
      for (const input of row.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[data-part]"))
        input.name = `lines[${i}].${input.dataset.part}`;
      // A decimal quantity is quantity_decimal in the request: its violations belong to the same input.
      row.querySelector<HTMLInputElement>("[data-part=quantity]")!.dataset.alias = `lines[${i}].quantity_decimal`;
    });

  const readRequest = (): { request: CreateInvoiceRequest; violations: Violation[] } => {
    const currencyCode = value("currency_code").toUpperCase();
    const violations: Violation[] = [];
    const meansCode = value("payment.means_code");
    const request = create(CreateInvoiceRequestSchema, {
      idempotencyKey,
      currencyCode,
      seller: readParty(value, "seller"),
      buyer: readParty(value, "buyer"),
      lines: [...lines.rows].map((_, i) => readLine(value, `lines[${i}]`, currencyCode, violations)),
      issueDate: value("issue_date"),
      supplyDate: value("supply_date"),
      dueDate: value("due_date"),
      note: value("note"),
      buyerReference: value("buyer_reference"),
      orderReference: value("order_reference"),
      payment: meansCode
        ? {
            meansCode,
            iban: value("payment.iban").replace(/\s/g, "").toUpperCase(),
            bic: value("payment.bic"),
            terms: value("payment.terms"),
          }
        : undefined,
    });
    return { request, violations };
  };

  form.querySelector("#add-line")!.addEventListener("click", addLine);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.textContent = "";
    const { request, violations } = readRequest();
    if (violations.length > 0) return showViolations(form, summary, violations);
    const submit = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    submit.disabled = true;
    try {
      const { invoice } = await client().createInvoice(request);
      clearViolations(form, summary);
      idempotencyKey = crypto.randomUUID();
      result.textContent = `Issued invoice ${invoice!.number}.`;
      onIssued(invoice!);
    } catch (err) {
      const fields = violationsOf(err);
      const code = ConnectError.from(err).code;
      if (code === Code.InvalidArgument && fields.length > 0) showViolations(form, summary, fields);
      else if (code === Code.AlreadyExists) {
        // An earlier try of this form was issued (its reply was lost) and the form changed since.
        idempotencyKey = crypto.randomUUID();
        showFormError(
          form,
          summary,
          "An earlier submission of this form was already issued (see the list). Submit again to issue another invoice.",
        );
      } else showFormError(form, summary, describe(err));
    } finally {
      submit.disabled = false;
    }
  });
  addLine();
}

type FieldValue = (name: string) => string;

/** The seller or buyer as the form holds it (`at` is "seller" or "buyer"). */
function readParty(value: FieldValue, at: string): MessageInitShape<typeof PartySchema> {
  return {
    name: value(`${at}.name`),
    vatId: value(`${at}.vat_id`).toUpperCase().replace(/\s/g, ""),
    address: {
      street: value(`${at}.address.street`),
      postalCode: value(`${at}.address.postal_code`),
      city: value(`${at}.address.city`),
      countryCode: value(`${at}.address.country_code`).toUpperCase(),
    },
    legalRegistrationId: value(`${at}.legal_registration_id`),
    electronicAddress: given({ scheme: value(`${at}.electronic_address.scheme`), id: value(`${at}.electronic_address.id`) }),
    contact: given({ name: value(`${at}.contact.name`), phone: value(`${at}.contact.phone`), email: value(`${at}.contact.email`) }),
  };
}

/** One line (`at` is "lines[i]"), its amounts parsed exactly; what cannot be parsed goes to `violations`. */
function readLine(value: FieldValue, at: string, currencyCode: string, violations: Violation[]): MessageInitShape<typeof LineInputSchema> {
  const quantity = parseQuantity(value(`${at}.quantity`));
  const unitPriceMinor = parseAmount(value(`${at}.unit_price_minor`), currencyCode);
  const vatRateBp = parseVatRate(value(`${at}.vat_rate_bp`));
  if (quantity === undefined)
    violations.push({ field: `${at}.quantity`, description: "must be a number such as 3 or 1.5 (at most 4 decimals)" });
  if (unitPriceMinor === undefined)
    violations.push({
      field: `${at}.unit_price_minor`,
      description: `must be an amount such as 150.00 in ${currencyCode || "the currency"}`,
    });
  if (vatRateBp === undefined) violations.push({ field: `${at}.vat_rate_bp`, description: "must be a percentage such as 19 or 7.5" });
  return {
    description: value(`${at}.description`),
    ...quantity,
    unitCode: value(`${at}.unit_code`),
    unitPriceMinor: unitPriceMinor ?? 0n,
    vatRateBp: vatRateBp ?? 0,
    vatCategory: VatCategory[value(`${at}.vat_category`) as keyof typeof VatCategory] ?? VatCategory.UNSPECIFIED,
    vatExemptionReasonCode: value(`${at}.vat_exemption_reason_code`),
    vatExemptionReason: value(`${at}.vat_exemption_reason`),
  };
}
