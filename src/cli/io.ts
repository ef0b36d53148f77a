/** A readable stdin, as process.stdin is (TTY or pipe). */
export type PromptInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

/** What every `meross-lan` command reads and writes: the terminal and environment, injected so tests drive them. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT/SIGTERM: ends `watch` and `simulate` normally (exit 0), interrupts the others (130). */
  signal?: AbortSignal;
  /** A person reads stdout: `simulate` then also narrates on stderr. */
  interactive?: boolean;
  now?: () => Date;
  /** Where `login` reads the password and code; default process.stdin. */
  stdin?: PromptInput;
}
