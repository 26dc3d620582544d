import { ConnectError } from "@connectrpc/connect";
import { FieldViolationsSchema, type FieldViolation } from "@invoicer/sdk";
import { BadRequestSchema } from "@invoicer/sdk/google/rpc/error_details_pb";

/**
 * Every field violation an error carries: an InvalidArgument's google.rpc.BadRequest, or the
 * invoicer.v1.FieldViolations detail from a server of the release before (kept for one release).
 */
export function violationsOf(err: unknown): { field: string; description: string }[] {
  const error = ConnectError.from(err);
  const standard = error
    .findDetails(BadRequestSchema)
    .flatMap((d) => d.fieldViolations.map(({ field, description }) => ({ field, description })));
  if (standard.length > 0) return standard;
  return error
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
    const input = form.querySelector<HTMLElement>(`[name="${CSS.escape(field)}"], [data-alias="${CSS.escape(field)}"]`);
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
