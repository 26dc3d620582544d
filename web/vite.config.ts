import { defineConfig } from "vite";

const gateway = process.env.INVOICER_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  // Relative asset URLs, so the built app works wherever it is served from.
  base: "./",
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  // `npm run dev -w web`: the API calls go through Vite to the gateway, so the page stays same-origin.
  server: { proxy: { "/invoicer.v1.InvoiceService": gateway, "/v1": gateway } },
});
