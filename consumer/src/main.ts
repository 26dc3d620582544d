import { runMain } from "@invoicer/platform/config";
import { serveConsumer } from "./serve.ts";

await runMain(() => serveConsumer(process.env));
