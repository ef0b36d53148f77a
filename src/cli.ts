#!/usr/bin/env node
import { EXIT_INTERRUPTED, main } from './cli/main';
import { describe } from './util/describe';

/** How long a finished command may take to let go of a request still on the wire (see interruptible()). */
const DRAIN_MS = 1000;

const controller = new AbortController();
const stop = (): void => {
  // A second Ctrl-C means "now", even if stopping the simulators hangs.
  if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

// `meross-lan watch | head -1` closes the pipe under us; that is the reader's way of saying "enough".
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  signal: controller.signal,
  interactive: process.stdout.isTTY,
}).then(
  (code) => {
    process.exitCode = code;
    // Normally the event loop is empty by now and node exits at once; this only cuts off an abandoned request.
    setTimeout(() => process.exit(code), DRAIN_MS).unref();
  },
  (error: unknown) => {
    process.stderr.write(`meross-lan: unexpected error: ${describe(error)}\n`);
    process.exit(1);
  },
);
