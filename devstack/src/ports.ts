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

/** Ports handed out by this process, so that two services started together never get the same one. */
const handedOut = new Set<number>();

/**
 * A port free right now on loopback, from 10000-29999: below Linux's ephemeral range (32768 and up), so
 * no outgoing connection (a Kafka or PostgreSQL client's) takes it between this probe and the service's
 * listen, as one could take a port the OS picked for listen(0).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 20_000);
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const probe = createServer();
    probe.once("error", () => ok(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => ok(true)));
  });
}
