ALTER TABLE "invoices" ADD COLUMN "preceding_invoice_id" uuid;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "preceding_invoice_number" bigint;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "preceding_issue_date" date;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "credited_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "credit_note_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_preceding_invoice_id_invoices_id_fk" FOREIGN KEY ("preceding_invoice_id") REFERENCES "public"."invoices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_credited_within_total" CHECK ("invoices"."credited_minor" between 0 and "invoices"."total_minor");