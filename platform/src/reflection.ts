import { create, createFileRegistry, toBinary, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "@invoicer/sdk/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ReflectionV1alpha } from "@invoicer/sdk/grpc/reflection/v1alpha/reflection_pb";
import { file_google_rpc_error_details } from "@invoicer/sdk/google/rpc/error_details_pb";

interface ReflectionRequest {
  host: string;
  messageRequest: { case: string | undefined; value?: unknown };
}

/** Questions one reflection stream may ask: tools ask a handful; a stream is not a way around the request rate limit. */
const maxQuestionsPerStream = 200;

/** The services reflection shows: the same to every caller, or chosen by the caller's headers (such as a token). */
export type ReflectedServices = string[] | ((requestHeader: Headers) => string[]);

/**
 * Registers gRPC server reflection, v1 and v1alpha, answering only for the given
 * services and the files they need, so tools like `buf curl` need no schema.
 */
export function registerReflection(router: ConnectRouter, files: DescFile[], services: ReflectedServices): void {
  const all = new Set<DescFile>();
  // The error details every error carries: grpcurl decodes them only when reflection knows their types.
  const errorDetails = closure(file_google_rpc_error_details);
  for (const file of [...files, ...errorDetails]) closure(file, all);
  const errorDetailFiles = new Set([...errorDetails].map((f) => f.name)); // the registry holds copies: compared by name
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...all].map((f) => f.proto) }));
  const describe = (req: ReflectionRequest, serviceNames: string[]) => ({
    validHost: req.host,
    messageResponse: answer(
      registry,
      (file) => errorDetailFiles.has(file.name) || visible(file, registry, serviceNames),
      serviceNames,
      req,
    ),
  });
  async function* answerAll<R extends ReflectionRequest>(requests: AsyncIterable<R>, { requestHeader }: HandlerContext) {
    const serviceNames = typeof services === "function" ? services(requestHeader) : services;
    let asked = 0;
    for await (const req of requests) {
      if (++asked > maxQuestionsPerStream) {
        throw new ConnectError(`at most ${maxQuestionsPerStream} requests per reflection stream`, Code.ResourceExhausted);
      }
      yield { ...describe(req, serviceNames), originalRequest: req };
    }
  }
  router.service(ReflectionV1, { serverReflectionInfo: answerAll });
  router.service(ReflectionV1alpha, { serverReflectionInfo: answerAll });
}

function answer(registry: FileRegistry, isVisible: (file: DescFile) => boolean, serviceNames: string[], req: ReflectionRequest) {
  const { case: kind, value } = req.messageRequest;
  if (kind === "listServices") {
    return { case: "listServicesResponse" as const, value: { service: serviceNames.map((name) => ({ name })) } };
  }
  let file: DescFile | undefined;
  if (kind === "fileByFilename") file = registry.getFile(String(value));
  if (kind === "fileContainingSymbol") file = fileOfSymbol(registry, String(value));
  if (file && isVisible(file)) {
    return { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(file) } };
  }
  return { case: "errorResponse" as const, value: { errorCode: 5, errorMessage: `not found: ${String(value ?? kind)}` } };
}

function fileOfSymbol(registry: FileRegistry, symbol: string): DescFile | undefined {
  const desc = registry.get(symbol) ?? registry.get(symbol.slice(0, symbol.lastIndexOf(".")));
  return desc?.file;
}

/** A file is visible when one of the exposed services needs it. */
function visible(file: DescFile, registry: FileRegistry, serviceNames: string[]): boolean {
  return serviceNames.some((name) => {
    const service = registry.getService(name);
    return service !== undefined && closure(service.file).has(file);
  });
}

/** The file and everything it imports, imports first. */
function closure(file: DescFile, seen = new Set<DescFile>()): Set<DescFile> {
  if (!seen.has(file)) {
    for (const dep of file.dependencies) closure(dep, seen);
    seen.add(file);
  }
  return seen;
}

function withDependencies(file: DescFile): Uint8Array[] {
  return [...closure(file)].map((f) => toBinary(FileDescriptorProtoSchema, f.proto));
}
