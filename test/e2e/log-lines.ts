/**
 * Turns a child process's output chunks into whole log lines without colour codes, for the harnesses that wait on
 * Homebridge's log (homebridge.ts) and config-ui-x's (ui/config-ui.ts). A line split over two chunks arrives once.
 */
export function logLines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let buffered = '';
  return (chunk) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    // eslint-disable-next-line no-control-regex -- strip ANSI colours from the log
    for (const raw of lines) onLine(raw.replace(/\x1b\[[0-9;]*m/g, ''));
  };
}
