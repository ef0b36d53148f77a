import type { AlternateTransport } from '../meross/client';
import type { Json } from '../meross/decode';

/**
 * What local push needs of a plug, and all it may touch: the transport sits below the plug model, so it talks to
 * this small interface (which the model implements) and never imports the model itself.
 */
export interface PushTarget {
  /** Undefined until the plug first answers (a host-only entry); then `info` fires. */
  readonly uuid: string | undefined;
  readonly name: string;
  /** The key the plug signs its messages with. */
  readonly key: string;
  /** Where the plug answers over HTTP (for error messages). */
  readonly address: string;
  readonly info: { readonly mac: string } | undefined;
  once(event: 'info', listener: () => void): unknown;
  /** Requests go over `link` while it is up; HTTP stays the fallback. */
  attachPush(link: AlternateTransport): void;
  /** The link came up or went down. */
  pushChanged(): void;
  /** A notification the plug sent on its own (a relay change, an over-temperature report). */
  applyPush(namespace: string, payload: Json): void;
}

/** The `push` block of the platform config, validated (config.ts). */
export interface PushConfig {
  enabled: boolean;
  /** The embedded broker's TLS port (unused with `broker`). */
  port: number;
  /** Address the embedded broker listens on; undefined: every interface. */
  bind?: string;
  /** A broker the user runs, used instead of the embedded one: `mqtts://…` or `mqtt://…`. */
  broker?: string;
  /** The userId in the plugs' MQTT password; undefined: remembered, else the Meross account's, else made up (push/user-id.ts). */
  userId?: string;
}
