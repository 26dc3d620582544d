import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CreateInvoiceRequestSchema, type CreateInvoiceRequest, type Invoice, type PartySchema } from "@invoicer/sdk";
import { clearViolations, showFormError, showViolations, violationsOf } from "./field-errors.ts";
import type { InvoicerClient } from "./invoicer-client.ts";
import { parseAmount, parseQuantity, parseVatRate } from "./money.ts";

type Violation = { field: string; description: string };

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
    row.innerHTML = `<td><input data-part="description"></td><td><input data-part="quantity" value="1" size="6" inputmode="numeric"></td>
      <td><input data-part="unit_price_minor" size="10" inputmode="decimal" placeholder="0.00"></td>
      <td><input data-part="vat_rate_bp" value="19" size="5" inputmode="decimal"></td>
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
      for (const input of row.querySelectorAll("input")) input.name = `lines[${i}].${input.dataset.part}`;
    });

  const readRequest = (): { request: CreateInvoiceRequest; violations: Violation[] } => {
    const currencyCode = value("currency_code").toUpperCase();
    const violations: Violation[] = [];
    const party = (at: string): MessageInitShape<typeof PartySchema> => ({
      name: value(`${at}.name`),
      vatId: value(`${at}.vat_id`).toUpperCase().replace(/\s/g, ""),
      address: {
        street: value(`${at}.address.street`),
        postalCode: value(`${at}.address.postal_code`),
        city: value(`${at}.address.city`),
        countryCode: value(`${at}.address.country_code`).toUpperCase(),
      },
    });
    const lineInputs = [...lines.rows].map((_, i) => {
      const at = `lines[${i}]`;
      const quantity = parseQuantity(value(`${at}.quantity`));
      const unitPriceMinor = parseAmount(value(`${at}.unit_price_minor`), currencyCode);
      const vatRateBp = parseVatRate(value(`${at}.vat_rate_bp`));
      if (quantity === undefined) violations.push({ field: `${at}.quantity`, description: "must be a whole number" });
      if (unitPriceMinor === undefined)
        violations.push({
          field: `${at}.unit_price_minor`,
          description: `must be an amount such as 150.00 in ${currencyCode || "the currency"}`,
        });
      if (vatRateBp === undefined) violations.push({ field: `${at}.vat_rate_bp`, description: "must be a percentage such as 19 or 7.5" });
      return {
        description: value(`${at}.description`),
        quantity: quantity ?? 0n,
        unitPriceMinor: unitPriceMinor ?? 0n,
        vatRateBp: vatRateBp ?? 0,
      };
    });
    const request = create(CreateInvoiceRequestSchema, {
      idempotencyKey,
      currencyCode,
      seller: party("seller"),
      buyer: party("buyer"),
      lines: lineInputs,
      issueDate: value("issue_date"),
      supplyDate: value("supply_date"),
      dueDate: value("due_date"),
      note: value("note"),
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
