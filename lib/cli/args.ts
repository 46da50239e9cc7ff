/** Small helpers shared by the CLI commands: typed option parsing with clear errors. */
import { parseArgs } from 'node:util';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
/** Parsed values: strings for 'string' options, booleans for 'boolean' ones, undefined when absent. */
export type Values<O extends OptionSpec> = { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean } & { help?: boolean };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parse<O extends OptionSpec>(argv: string[], options: O): { values: Values<O> } {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
    return { values: r.values as Values<O> };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name}: expected an integer, got '${value}'`);
  return n;
}
