import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { reportUndecodableAsInvalid } from "./undecodable-requests.ts";

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * A router's procedures as one Node request handler, as connectNodeAdapter makes it, with each
 * procedure wrapped so that an undecodable request is InvalidArgument (see undecodable-requests.ts).
 * Answers whether the path was one of its procedures (the caller answers the others).
 */
export function connectRoutes(
  router: ConnectRouter,
  log: { warn(fields: object, message: string): void },
): (req: NodeRequest, res: NodeResponse) => boolean {
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, reportUndecodableAsInvalid(h)]));
  return (req, res) => {
    const handler = handlers.get(req.url?.split("?", 1)[0] ?? "");
    if (!handler) return false;
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then((uRes) => {
        answeringEarly(req, res);
        return universalResponseToNodeResponse(uRes, res);
      })
      .catch((err: unknown) => {
        // Aborted means the client went away mid-response, which is not worth a log line.
        if (ConnectError.from(err).code !== Code.Aborted) log.warn({ err, procedure: handler.method.name }, "response not completed");
      });
    return true;
  };
}

/**
 * An answer to an HTTP/1.1 request whose body was started but not read to its end (a message over
 * the size limit) closes its connection: Node would leave it paused behind the unread bytes, and
 * the client's next request on it would never be read. (A body never started, Node drains itself.
 * HTTP/2 streams are freed in createDualServer.)
 */
function answeringEarly(req: NodeRequest, res: NodeResponse): void {
  if (req.httpVersionMajor !== 1) return;
  const incoming = req as IncomingMessage;
  if (!incoming.complete && incoming.readableDidRead && !res.headersSent) (res as ServerResponse).shouldKeepAlive = false;
}
