import type * as http from "node:http";

/** Listens, turning a taken port into one line that names the variable to change. */
export function listen(server: http.Server, port: number, host: string, portVariable: string): Promise<number> {
  return new Promise((ok, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(err.code === "EADDRINUSE" ? new Error(`port ${port} is already in use; set ${portVariable} to another port`) : err),
    );
    server.listen(port, host, () => ok((server.address() as { port: number }).port));
  });
}
