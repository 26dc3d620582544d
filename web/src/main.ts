// The Invoicer browser client: a session (gateway, API key, protocol), the invoice table kept live
// by WatchInvoices, and the new-invoice form.
import type { InvoiceEvent } from "@invoicer/sdk";
import { invoiceForm } from "./invoice-form.ts";
import { invoiceList } from "./invoice-list.ts";
import { describeError, invoicerClient, type InvoicerClient, type Protocol } from "./invoicer-client.ts";
import { followInvoiceEvents, type LiveState } from "./live-updates.ts";
import { formatMoney } from "@invoicer/platform/money";
import { uiLanguage } from "./language.ts";

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const sessionForm = $<HTMLFormElement>("#session-form");
const input = (name: string) => sessionForm.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
const liveStatus = $("#live-status");
const sessionError = $("#session-error");
const activity = $("#activity-log");

let session: { client: InvoicerClient; gatewayUrl: string; stop: AbortController } | undefined;
const client = () => session!.client;
const describe = (err: unknown) => describeError(err, session?.gatewayUrl ?? "");
const list = invoiceList($("#invoices"), client, describe);
invoiceForm($<HTMLFormElement>("#invoice-form"), client, describe, () => list.issued());

// `npm start` prints .../#key=...: a fragment never reaches a server; it leaves the address bar at once.
const fragment = new URLSearchParams(location.hash.slice(1));
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
input("gateway").value = fragment.get("gateway") ?? sessionStorage.getItem("invoicer.gateway") ?? location.origin;
input("api-key").value = fragment.get("key") ?? sessionStorage.getItem("invoicer.api-key") ?? "";
input("protocol").value = fragment.get("protocol") ?? sessionStorage.getItem("invoicer.protocol") ?? "grpc-web";

sessionForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void startSession();
});
if (fragment.has("key")) void startSession();

/** Opens a session: the first page proves the key and the origin are accepted, then the watch starts. */
async function startSession() {
  session?.stop.abort();
  const gatewayUrl = input("gateway").value.replace(/\/+$/, "");
  const apiKey = input("api-key").value.trim();
  const protocol = input("protocol").value as Protocol;
  const current = { client: invoicerClient(gatewayUrl, apiKey, protocol), gatewayUrl, stop: new AbortController() };
  session = current;
  showLiveState("connecting");
  sessionError.textContent = "";
  try {
    await list.open();
  } catch (err) {
    if (session !== current) return;
    sessionError.textContent = describe(err);
    $("#workspace").hidden = true;
    return showLiveState("stopped");
  }
  sessionStorage.setItem("invoicer.gateway", gatewayUrl);
  sessionStorage.setItem("invoicer.api-key", apiKey);
  sessionStorage.setItem("invoicer.protocol", protocol);
  $("#workspace").hidden = false;
  void followInvoiceEvents(
    current.client,
    current.stop.signal,
    {
      state: showLiveState,
      live: () => list.reload(), // catch up on whatever changed before the stream was live
      event: showEvent,
    },
    describe,
  );
}

function showLiveState(state: LiveState, reason?: string) {
  liveStatus.dataset.state = state;
  liveStatus.textContent = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", stopped: "offline" }[state];
  liveStatus.title = reason ?? "";
}

const eventNames = { issued: "issued", paid: "paid", voided: "voided", documentReady: "document ready", credited: "credited" } as const;

function showEvent(event: InvoiceEvent) {
  const invoice = event.kind.value?.invoice;
  if (!event.kind.case || !invoice) return;
  const entry = document.createElement("li");
  entry.dataset.event = event.kind.case;
  const time = new Date().toLocaleTimeString();
  entry.textContent = `${time} Invoice ${invoice.number} ${eventNames[event.kind.case]} · ${formatMoney(invoice.totalMinor, invoice.currencyCode, uiLanguage)}`;
  activity.prepend(entry);
  while (activity.children.length > 20) activity.lastElementChild!.remove();
  if (event.kind.case === "issued") list.issued();
  else list.show(invoice);
}
