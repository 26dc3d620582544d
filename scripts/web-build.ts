// Builds the browser client (web/ -> web/dist) when it is missing or older than its sources.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const built = join(root, "web", "dist", "index.html");
// What the bundle is made of: the app, its build config, and the workspace code it imports.
const sources = ["web/src", "web/index.html", "web/vite.config.ts", "web/package.json", "platform/src/currencies.ts", "gen/src"];

/** Builds web/dist unless it is newer than every source; returns how long the build took, or undefined if none ran. */
export async function ensureWebBuilt(): Promise<number | undefined> {
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource()) return undefined;
  const started = Date.now();
  const output: Buffer[] = [];
  const vite = spawn(process.execPath, [join(root, "node_modules", "vite", "bin", "vite.js"), "build"], {
    cwd: join(root, "web"),
    stdio: ["ignore", "pipe", "pipe"],
  });
  vite.stdout.on("data", (chunk: Buffer) => output.push(chunk));
  vite.stderr.on("data", (chunk: Buffer) => output.push(chunk));
  const code = await new Promise<number | null>((done) => vite.on("close", done));
  if (code !== 0) throw new Error(`building the web app failed:\n${Buffer.concat(output).toString()}`);
  return Date.now() - started;
}

function newestSource(): number {
  return Math.max(
    ...sources
      .map((source) => join(root, source))
      .filter(existsSync)
      .flatMap((path) =>
        statSync(path).isDirectory()
          ? readdirSync(path, { recursive: true, withFileTypes: true })
              .filter((e) => e.isFile())
              .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs)
          : [statSync(path).mtimeMs],
      ),
  );
}
