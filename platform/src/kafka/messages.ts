// What the services send and receive through the event bus, with no trace of the client library.

export interface EventMessage {
  key: string;
  value: Uint8Array;
  headers: Record<string, string>;
}

export interface ReceivedMessage extends EventMessage {
  topic: string;
  partition: number;
  offset: string;
}

export interface EventProducer {
  /** Resolves once every message is acknowledged by all in-sync replicas. */
  send(topic: string, messages: EventMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}
