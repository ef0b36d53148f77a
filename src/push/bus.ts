import type { EventEmitter } from 'node:events';

/**
 * What the hub needs from an MQTT broker, whether it runs inside the plugin (broker.ts) or elsewhere
 * (external.ts): messages on the topics it listens to, a way to publish, and — where it can tell — when a plug's
 * session opens and closes.
 */
export interface BusEvents {
  message: [topic: string, payload: Buffer];
  /** Embedded broker only: a plug is ready for requests (it subscribed to its topic), or its session ended. */
  device: [uuid: string, up: boolean, address: string | undefined];
  /** The bus as a whole came up or went down (the external broker connection; the embedded one never goes down). */
  state: [up: boolean];
}

export interface Bus extends EventEmitter<BusEvents> {
  /** True when the bus sees plugs connect and disconnect; false when it only sees their messages. */
  readonly seesSessions: boolean;
  readonly up: boolean;
  /** Where it listens or what it connects to, for log lines (never with credentials). */
  readonly label: string;
  publish(topic: string, payload: string): void;
  close(): Promise<void>;
}

export interface BusLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

/** A login decision: the plug's uuid, or why it is refused (one log line, without the password). */
export type LoginResult = { uuid: string } | { refused: string; key: string };
