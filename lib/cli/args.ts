/** Small helpers shared by the CLI commands: typed option parsing with clear errors. */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
/** Parsed values: strings for 'string' options (arrays for repeatable ones), booleans for 'boolean' ones, undefined when absent. */
export type Values<O extends OptionSpec> = {
  [K in keyof O]?: O[K]['type'] extends 'string' ? (O[K]['multiple'] extends true ? string[] : string) : boolean;
} & { help?: boolean };

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

/** An integer option that must be at least `min` (sizes and counts: 0 makes no sense). */
export function countOption(value: string | undefined, name: string, min = 1): number | undefined {
  const n = intOption(value, name);
  if (n !== undefined && n < min) throw new UsageError(`--${name}: expected an integer >= ${min}, got ${n}`);
  return n;
}

/** Checks that the files given to flags exist and are files (a folder would fail later as a bare EISDIR). */
export function checkInputFiles(files: Record<string, string | boolean | undefined>): void {
  for (const [flag, path] of Object.entries(files)) {
    if (typeof path !== 'string') continue;
    if (!existsSync(path)) throw new Error(`--${flag}: ${path} does not exist`);
    if (statSync(path).isDirectory())
      throw new Error(`--${flag}: ${path} is a folder, not a file: give the file in it (e.g. ${path.replace(/\/$/, '')}/final.safetensors for weights)`);
  }
}

export function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name}: expected an integer, got '${value}'`);
  return n;
}

const NUMBER_KINDS = {
  number: { ok: (n: number, text: string) => text.trim() !== '' && Number.isFinite(n), expected: 'a number' },
  finite: { ok: (n: number) => Number.isFinite(n), expected: 'a finite number' },
  positive: { ok: (n: number) => Number.isFinite(n) && n > 0, expected: 'a positive number' },
} as const;

function numberOf(value: string | undefined, name: string, kind: keyof typeof NUMBER_KINDS): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!NUMBER_KINDS[kind].ok(n, value)) throw new UsageError(`--${name}: expected ${NUMBER_KINDS[kind].expected}, got '${value}'`);
  return n;
}

/** A number option (any finite value). */
export const numberOption = (value: string | undefined, name: string) => numberOf(value, name, 'number');
/** A number option that must be finite (a fill value). */
export const finiteOption = (value: string | undefined, name: string) => numberOf(value, name, 'finite');
/** A number option that must be positive (scales). */
export const positiveOption = (value: string | undefined, name: string) => numberOf(value, name, 'positive');

/** One of a fixed set of words. */
export function oneOfOption<T extends string>(value: string | undefined, name: string, values: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!values.includes(value as T)) throw new UsageError(`--${name}: expected ${values.join(' | ')}, got '${value}'`);
  return value as T;
}

/** A JSON object option (`what`: what its keys are, for the message). */
export function jsonObjectOption(text: string | undefined, name: string, what: string): Record<string, unknown> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--${name}: not JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError(`--${name}: expected a JSON object of ${what}`);
  return v as Record<string, unknown>;
}

/** Library option checks (RangeError, TypeError) raised while reading flags are usage errors. */
export function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
