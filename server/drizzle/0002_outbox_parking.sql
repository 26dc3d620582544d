ALTER TABLE "outbox" ADD COLUMN "parked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "park_reason" text;--> statement-breakpoint
CREATE INDEX "invoices_pending_documents_idx" ON "invoices" USING btree ("created_at") WHERE "invoices"."document_status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "outbox_parked_idx" ON "outbox" USING btree ("position") WHERE "outbox"."parked_at" is not null and "outbox"."published_at" is null;