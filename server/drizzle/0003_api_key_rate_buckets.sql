CREATE TABLE "api_key_rate_buckets" (
	"api_key_id" uuid PRIMARY KEY NOT NULL,
	"tokens" double precision NOT NULL,
	"refilled_at" timestamp with time zone NOT NULL,
	"last_granted" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_key_rate_buckets" ADD CONSTRAINT "api_key_rate_buckets_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;