// Answers sent before the whole request arrived (413, 415): how the rest of the upload is stopped
// or read, so the client still reads its answer.
import * as http2 from "node:http2";
import type { Socket } from "node:net";

/** How long an answered HTTP/2 stream may wait for its last frame to leave before the reset goes anyway. */
const maxWaitForSentMs = 2_000;

/**
 * Once an HTTP/2 stream's answer is sent, a client still uploading (say, a message over the size
 * limit, answered early) is told to stop with RST_STREAM(NO_ERROR) (RFC 9113 §8.1). Otherwise a
 * client whose flow-control window is full waits for ever, and Node keeps the stream, its session
 * and its socket until the unread data is read, which nothing will do, even after the client hangs
 * up. The reset goes only after the answer's last frame left, or it could overtake it.
 */
export function stopUploadOnceAnswered(stream: http2.ServerHttp2Stream): void {
  stream.once("finish", () => {
    const finished = Date.now();
    // The wait doubles from 1 ms (to 64 ms): a client that reads its answer slowly costs a dozen checks, not thousands.
    let wait = 1;
    const resetWhenSent = () => {
      if (stream.closed || stream.destroyed || stream.readableEnded) return;
      if (stream.state?.localClose !== 1 && Date.now() - finished <= maxWaitForSentMs) {
        setTimeout(resetWhenSent, wait);
        wait = Math.min(wait * 2, 64);
        return;
      }
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      // Node frees a stream closed without error only once its unread data is read: discard it.
      stream.destroy();
    };
    resetWhenSent();
  });
}

/**
 * Closing a socket while request bytes still arrive makes the kernel answer them with a reset,
 * which discards the answer the client has not read yet: an early answer (415, 413) over HTTP/1.1
 * reached the conformance suite's client as "broken pipe". So the close Node makes after a
 * `Connection: close` answer half-closes, reads on (the request drops what comes), and closes when
 * the client has sent everything or after `lingerMs`, whichever is first.
 */
export function lingerBeforeClosing(socket: Socket, lingerMs = 2_000): Socket {
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    // The client has sent everything already: close as Node would, once the answer is out.
    if (socket.readableEnded) return void (socket.writableFinished ? socket.destroy() : socket.once("finish", () => socket.destroy()));
    const timer = setTimeout(() => socket.destroy(), lingerMs).unref();
    socket.once("close", () => clearTimeout(timer)).once("end", () => socket.destroy());
  };
  return socket;
}
