import type { PlugLogger } from '../../src/plug/plug';

/** A plug logger that keeps every line with its level, for tests to assert on. */
export interface CapturedLog extends PlugLogger {
  lines: Array<[level: string, message: string]>;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const at = (level: string) => (message: string) => void lines.push([level, message]);
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}
