import { createServer } from "node:net";

/** Fails with one line naming the port and the variable to change when the port is taken. */
export function assertPortFree(port: number, variable: string, what: string, host = "127.0.0.1"): Promise<void> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      fail(
        new Error(
          err.code === "EADDRINUSE"
            ? `port ${port} for ${what} is already in use; set ${variable} to another port`
            : `cannot listen on ${host}:${port} for ${what}: ${err.message}`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => ok()));
  });
}

/** A port the OS reports free right now on loopback. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => ok(port));
    });
  });
}
