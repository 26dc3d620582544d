import { ConnectError } from "@connectrpc/connect";
import { FieldViolationsSchema, type FieldViolation } from "@invoicer/sdk";

/** Every field violation an error carries (an InvalidArgument's invoicer.v1.FieldViolations detail). */
export function violationsOf(err: unknown): { field: string; description: string }[] {
  return ConnectError.from(err)
    .findDetails(FieldViolationsSchema)
    .flatMap((d) => d.violations.map(({ field, description }: FieldViolation) => ({ field, description })));
}

/** Removes the messages shown by a previous showViolations. */
export function clearViolations(form: HTMLFormElement, summary: HTMLElement): void {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  summary.replaceChildren();
}

/** Shows an error that names no field (the gateway unreachable, an idempotency key reused). */
export function showFormError(form: HTMLFormElement, summary: HTMLElement, message: string): void {
  clearViolations(form, summary);
  summary.append(Object.assign(document.createElement("li"), { textContent: message }));
}

/**
 * Shows each violation next to the input named by its field path (inputs are named like the
 * request's fields, e.g. "seller.vat_id", "lines[0].quantity"); the rest go to the summary.
 */
export function showViolations(form: HTMLFormElement, summary: HTMLElement, violations: { field: string; description: string }[]) {
  clearViolations(form, summary);
  for (const { field, description } of violations) {
    const input = form.querySelector<HTMLElement>(`[name="${CSS.escape(field)}"]`);
    if (!input) {
      summary.append(Object.assign(document.createElement("li"), { textContent: `${field}: ${description}` }));
      continue;
    }
    const message = Object.assign(document.createElement("small"), { className: "field-error", textContent: description });
    message.dataset.errorFor = field;
    message.id = `error-${field}`;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", message.id);
    input.after(message);
  }
  form.querySelector<HTMLElement>("[aria-invalid]")?.focus();
}
