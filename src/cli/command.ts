import { parseArgs } from 'node:util';
import { describeParseError } from './args';
import type { CliIo } from './io';

interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

type Options = Record<string, OptionSpec> & { help: { type: 'boolean'; short?: string } };

/** A subcommand's parsed options, typed from its option table. */
export type CommandValues<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>['values'];

/** A usage error of `meross-lan <command>`: one line on stderr pointing at its help, exit 2. */
export function usageError(io: CliIo, command: string, message: string): number {
  io.stderr(`meross-lan: ${message} (see meross-lan ${command} --help)\n`);
  return 2;
}

/**
 * The start every subcommand shares: its options parsed strictly, extra words refused, `--help` answered. Returns
 * the values, or the exit code when the command is done already (0 after the help, 2 after a usage error). Extra
 * words are counted, never echoed: a forgotten `--key` in front of one would print the key.
 */
export function commandValues<O extends Options>(command: string, argv: readonly string[], options: O, help: string, io: CliIo): CommandValues<O> | number {
  let parsed: { values: CommandValues<O>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    return usageError(io, command, describeParseError(error));
  }
  if (parsed.positionals.length > 0) return usageError(io, command, `${command} takes no arguments besides options (got ${parsed.positionals.length} more)`);
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout(help);
    return 0;
  }
  return parsed.values;
}
