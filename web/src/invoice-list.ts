import { DocumentFormat, DocumentStatus, DocumentType, InvoiceStatus, type Invoice } from "@invoicer/sdk";
import type { InvoicerClient } from "./invoicer-client.ts";
import { formatMoney } from "@invoicer/platform/money";
import { uiLanguage } from "./language.ts";

const pageSize = 10;
const statusLabels: Record<InvoiceStatus, string> = {
  [InvoiceStatus.UNSPECIFIED]: "",
  [InvoiceStatus.ISSUED]: "Issued",
  [InvoiceStatus.PAID]: "Paid",
  [InvoiceStatus.VOID]: "Void",
};
const documentLabels: Record<DocumentStatus, string> = {
  [DocumentStatus.UNSPECIFIED]: "",
  [DocumentStatus.PENDING]: "Pending",
  [DocumentStatus.READY]: "Ready",
};

export interface InvoiceList {
  /** Loads the first page; rejects when the gateway refuses, so a new session can say why. */
  open(): Promise<void>;
  /** Reloads the page shown; bursts of calls cost one list request in flight and at most one after it. */
  reload(): void;
  /** Shows the new state of an invoice if it is on the page. */
  show(invoice: Invoice): void;
  /** A new invoice was issued: the first page (newest first) changes. */
  issued(): void;
}

/** The invoice table: pages by cursor, status changes in place, pay, void and each document format's download. */
export function invoiceList(section: HTMLElement, client: () => InvoicerClient, describe: (err: unknown) => string): InvoiceList {
  const rows = section.querySelector<HTMLTableSectionElement>("#invoice-rows")!;
  const [newer, older] = ["#newer-page", "#older-page"].map((s) => section.querySelector<HTMLButtonElement>(s)!) as [
    HTMLButtonElement,
    HTMLButtonElement,
  ];
  const error = section.querySelector<HTMLElement>("#list-error")!;
  const pageTokens = [""]; // the token of each page visited, so Newer can go back
  let page = 0;
  let nextPageToken = "";
  let loading: Promise<void> | undefined;
  let stale = false;

  const load = async () => {
    const session = client();
    const response = await session.listInvoices({ pageSize, pageToken: pageTokens[page] });
    if (client() !== session) return; // a page of the previous session (another key) arrived late
    nextPageToken = response.nextPageToken;
    rows.replaceChildren(...response.invoices.map(invoiceRow));
    section.querySelector<HTMLElement>("#no-invoices")!.hidden = response.invoices.length > 0 || page > 0;
    section.querySelector<HTMLElement>("#page-label")!.textContent = `Page ${page + 1}`;
    newer.disabled = page === 0;
    older.disabled = nextPageToken === "";
    error.textContent = "";
  };
  const reload = () => {
    if (loading) {
      stale = true;
      return;
    }
    loading = load()
      .catch((err) => void (error.textContent = describe(err)))
      .finally(() => {
        loading = undefined;
        if (stale) {
          stale = false;
          reload();
        }
      });
  };
  const act = async (what: () => Promise<{ invoice?: Invoice }>) => {
    try {
      const { invoice } = await what();
      if (invoice) show(invoice);
      error.textContent = "";
    } catch (err) {
      error.textContent = describe(err);
    }
  };
  const show = (invoice: Invoice) => {
    rows.querySelector(`tr[data-invoice-id="${CSS.escape(invoice.id)}"]`)?.replaceWith(invoiceRow(invoice));
    if (loading) stale = true; // the page on its way may have been read before this change: read it again after
  };

  older.addEventListener("click", () => {
    pageTokens[++page] = nextPageToken;
    reload();
  });
  newer.addEventListener("click", () => {
    page = Math.max(0, page - 1);
    reload();
  });
  rows.addEventListener("click", (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>("button[data-action]");
    const id = button?.closest("tr")?.dataset.invoiceId;
    if (!button || !id) return;
    const number = button.closest("tr")!.dataset.invoiceNumber;
    if (button.dataset.action === "pay") void act(() => client().payInvoice({ id }));
    if (button.dataset.action === "void") {
      const reason = prompt(`Void invoice ${number}? Reason (optional):`, "");
      if (reason !== null) void act(() => client().voidInvoice({ id, reason }));
    }
    if (button.dataset.action === "credit") {
      const reason = prompt(`Credit invoice ${number} in full with a credit note? Reason:`, "");
      // The credit note is a new row and the invoice's credited amount changed: the page is read again.
      if (reason) void act(() => creditInFull(client(), id, reason)).then(reload);
    }
    if (button.dataset.action === "download") void act(() => download(client(), id, Number(button.dataset.format) as DocumentFormat));
  });

  return {
    open: async () => {
      page = 0;
      pageTokens.length = 1;
      await load();
    },
    reload,
    show,
    issued: () => {
      if (page === 0) reload();
    },
  };
}

function invoiceRow(invoice: Invoice): HTMLTableRowElement {
  const row = document.createElement("tr");
  row.dataset.invoiceId = invoice.id;
  row.dataset.invoiceNumber = String(invoice.number);
  const cell = (className: string, text: string) =>
    row.appendChild(Object.assign(document.createElement("td"), { className, textContent: text }));
  cell("number", String(invoice.number));
  cell("issue-date", invoice.issueDate);
  cell("buyer", invoice.buyer?.name ?? "");
  cell("amount total", formatMoney(invoice.totalMinor, invoice.currencyCode, uiLanguage));
  cell("status", statusText(invoice)).dataset.status = InvoiceStatus[invoice.status];
  cell("document", documentLabels[invoice.documentStatus]).dataset.documentStatus = DocumentStatus[invoice.documentStatus];
  const actions = cell("actions", "");
  const issued = invoice.status === InvoiceStatus.ISSUED;
  const button = (action: string, label: string, enabled: boolean) => {
    const element = Object.assign(document.createElement("button"), { type: "button", textContent: label, disabled: !enabled });
    element.dataset.action = action;
    actions.append(element);
  };
  const creditNote = invoice.documentType === DocumentType.CREDIT_NOTE;
  // A credit in full credits every line: only an invoice nothing has been credited of yet (a partial credit note is the API's).
  const uncredited = !creditNote && invoice.status !== InvoiceStatus.VOID && invoice.creditedMinor === 0n;
  button("pay", "Pay", issued && !creditNote);
  button("void", "Void", issued && !creditNote && invoice.creditNoteIds.length === 0);
  button("credit", "Credit", uncredited);
  for (const [format, label] of Object.entries(formatLabels)) {
    button("download", label, invoice.documentStatus === DocumentStatus.READY);
    actions.lastElementChild!.setAttribute("data-format", format);
  }
  return row;
}

/** The status, and what a credit note corrects or what has been credited of an invoice. */
function statusText(invoice: Invoice): string {
  const status = statusLabels[invoice.status];
  if (invoice.documentType === DocumentType.CREDIT_NOTE) return `Credit note for No. ${invoice.precedingInvoice?.number ?? "?"}`;
  if (invoice.creditedMinor === 0n) return status;
  return `${status}, ${formatMoney(invoice.creditedMinor, invoice.currencyCode, uiLanguage)} credited`;
}

/** Credits the whole invoice (no lines given): one credit note of every line, its key fresh for this click. */
async function creditInFull(client: InvoicerClient, invoiceId: string, reason: string): Promise<{ invoice?: Invoice }> {
  await client.createCreditNote({ idempotencyKey: crypto.randomUUID(), invoiceId, reason });
  return {};
}

/** Every format the API offers, with its button's label (the type makes a new format need one). */
const formatLabels: Record<Exclude<DocumentFormat, DocumentFormat.UNSPECIFIED>, string> = {
  [DocumentFormat.PDF]: "PDF",
  [DocumentFormat.DOCX]: "DOCX",
  [DocumentFormat.XRECHNUNG_UBL]: "XRechnung UBL",
  [DocumentFormat.XRECHNUNG_CII]: "XRechnung CII",
  [DocumentFormat.PEPPOL_UBL]: "Peppol",
};

/**
 * Fetches a stored document through the API and hands it to the browser as a download; a format the
 * invoice's profile does not meet answers FailedPrecondition, which the list shows with what is missing.
 */
async function download(client: InvoicerClient, id: string, format: DocumentFormat): Promise<{ invoice?: Invoice }> {
  const file = await client.getInvoiceDocument({ id, format });
  const url = URL.createObjectURL(new Blob([file.content.slice()], { type: file.contentType }));
  Object.assign(document.createElement("a"), { href: url, download: file.filename }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download may still be reading it
  return {};
}
