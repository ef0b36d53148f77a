/** An error as one line of text for a log or a message: its message, or the thrown value itself. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
