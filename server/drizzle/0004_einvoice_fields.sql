ALTER TABLE "invoice_lines" ADD COLUMN "unit_code" text DEFAULT 'C62' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD COLUMN "vat_category" text DEFAULT 'S' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD COLUMN "vat_exemption_reason" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD COLUMN "vat_exemption_reason_code" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD COLUMN "quantity_decimal" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "document_type" text DEFAULT 'INVOICE' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "buyer_reference" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "order_reference" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "payment" jsonb;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "delivery_address" jsonb;--> statement-breakpoint
-- Lines issued before categories meant zero rated at 0 %.
UPDATE "invoice_lines" SET "vat_category" = 'Z' WHERE "vat_rate_bp" = 0;