import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { startKafkaNode } from "./kafka-node.ts";
import { assertPortFree, freePort } from "./ports.ts";

export interface LocalKafka {
  /** Bootstrap servers for clients, e.g. "127.0.0.1:9092". */
  brokers: string;
  /** The broker's process id. */
  pid: number;
  /** SIGSTOP: the broker holds its connections but answers nothing, as a long GC pause or a frozen VM does. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Graceful shutdown (SIGKILL if it hangs); waits until the broker has exited, then removes an ephemeral data dir. */
  stop(): Promise<void>;
}

export interface LocalKafkaOptions {
  dataDir: string;
  /** The client (PLAINTEXT) port; a free one when omitted. */
  port?: number;
  /** Removes dataDir on stop: for throwaway test brokers. */
  ephemeral?: boolean;
  /** The variable a user changes to pick another port, named in the port-in-use error. */
  portVariable?: string;
  /**
   * Run in a process group of its own, so a terminal's Ctrl-C reaches only its starter, which stops
   * it after the services (npm start); it still stops on its starter's exit. Otherwise Ctrl-C stops it too.
   */
  ownProcessGroup?: boolean;
  onLog?: (line: string) => void;
}

/** Starts a single-node KRaft broker (combined broker and controller) from jars Maven puts in ~/.m2. */
export async function startLocalKafka(opts: LocalKafkaOptions): Promise<LocalKafka> {
  const dataDir = resolve(opts.dataDir);
  if (opts.port !== undefined) await assertPortFree(opts.port, opts.portVariable ?? "KAFKA_PORT", "Kafka");
  const port = opts.port ?? (await freePort());
  const removeEphemeral = () => (opts.ephemeral ? rm(dataDir, { recursive: true, force: true }) : Promise.resolve());
  const node = await startKafkaNode({
    dataDir,
    nodeId: 1,
    port,
    controllerPort: await freePort(),
    ownProcessGroup: opts.ownProcessGroup,
    onLog: opts.onLog,
  }).catch(async (err: unknown) => {
    await removeEphemeral();
    throw err;
  });
  const stop = async () => {
    await node.stop();
    await removeEphemeral();
  };
  return { brokers: `127.0.0.1:${port}`, pid: node.pid, pause: node.pause, resume: node.resume, stop };
}
