// The runner's handshake with a server under test (connectconformance --mode server): it writes a
// size-prefixed ServerCompatRequest to stdin and reads a size-prefixed ServerCompatResponse (where
// to call) from stdout.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ServerCompatRequestSchema,
  ServerCompatResponseSchema,
  type ServerCompatRequest,
} from "../gen/connectrpc/conformance/v1/server_compat_pb.js";

/** The runner's request: protocol, HTTP version and message receive limit of this configuration. */
export async function readServerCompatRequest(): Promise<ServerCompatRequest> {
  const request = fromBinary(ServerCompatRequestSchema, await readSizePrefixed(process.stdin));
  if (request.useTls) throw new Error("the server under test supports no TLS; its config must not claim it");
  return request;
}

/** Tells the runner where the server under test listens. */
export function writeServerCompatResponse(host: string, port: number): void {
  const message = toBinary(ServerCompatResponseSchema, create(ServerCompatResponseSchema, { host, port }));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(message.length, 0);
  process.stdout.write(Buffer.concat([prefix, message]));
}

/** A 4-byte big-endian length, then that many bytes. */
async function readSizePrefixed(input: NodeJS.ReadableStream): Promise<Uint8Array> {
  let buffered = Buffer.alloc(0);
  for await (const chunk of input) {
    buffered = Buffer.concat([buffered, chunk as Buffer]);
    if (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) break;
  }
  if (buffered.length < 4 || buffered.length < 4 + buffered.readUInt32BE(0))
    throw new Error("stdin ended before a whole ServerCompatRequest");
  return buffered.subarray(4, 4 + buffered.readUInt32BE(0));
}
