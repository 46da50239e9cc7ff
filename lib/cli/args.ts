/** Small helpers shared by the CLI commands: typed option parsing with clear errors. */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sniffFormat } from '../data/index.js';

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
/** Parsed values: strings for 'string' options (arrays for repeatable ones), booleans for 'boolean' ones, undefined when absent. */
export type Values<O extends OptionSpec> = {
  [K in keyof O]?: O[K]['type'] extends 'string' ? (O[K]['multiple'] extends true ? string[] : string) : boolean;
} & { help?: boolean };

type FlagSpec<S extends string, B extends string, M extends string> = { [K in S]: { type: 'string' } } & { [K in B]: { type: 'boolean' } } & {
  [K in M]: { type: 'string'; multiple: true };
};

/** Flag names, flat or in groups (one group per line keeps a long list readable). */
type Names<S extends string> = readonly (S | readonly S[])[];

/** A command's option table from its flag names: string flags, boolean flags and repeatable string flags. */
export function flags<const S extends string = never, const B extends string = never, const M extends string = never>(names: {
  strings?: Names<S>;
  booleans?: Names<B>;
  multiple?: Names<M>;
}): FlagSpec<S, B, M> {
  const spec: OptionSpec = {};
  for (const name of (names.strings ?? []).flat()) spec[name] = { type: 'string' };
  for (const name of (names.booleans ?? []).flat()) spec[name] = { type: 'boolean' };
  for (const name of (names.multiple ?? []).flat()) spec[name] = { type: 'string', multiple: true };
  return spec as FlagSpec<S, B, M>;
}

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

/** --steps N or --epochs N: exactly one, at least 1. */
export function stepsOrEpochs(v: { steps?: string; epochs?: string }): { steps?: number; epochs?: number } {
  if ((v.epochs === undefined) === (v.steps === undefined)) throw new UsageError('give exactly one of --epochs and --steps');
  return { steps: countOption(v.steps, 'steps'), epochs: countOption(v.epochs, 'epochs') };
}

/** --cut: the border cut of the reduced-resolution metrics (default 0: none). */
export function cutOption(value: string | undefined): number {
  const cut = intOption(value, 'cut') ?? 0;
  if (cut < 0) throw new UsageError(`--cut: expected 0 or more, got ${cut}`);
  return cut;
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

type Role = 'pan' | 'ms' | 'lms' | 'gt';

/**
 * A command's input: the file of --`flag`, or GeoTIFFs by role (`tifs`: --pan with --ms or --lms,
 * and what else the command takes); `tifHint` ends the message for a file that is a GeoTIFF.
 */
export function inputSource(
  file: string | undefined,
  flag: string,
  tifs: Partial<Record<Role, string>>,
  tifHint: string,
): string | ({ pan: string } & Partial<Record<Role, string>>) {
  const given = (Object.keys(tifs) as Role[]).filter((k) => tifs[k] !== undefined);
  if (file !== undefined && given.length) throw new UsageError(`give --${flag}, or GeoTIFFs with --${given.join('/--')}, not both`);
  if (file === undefined && !given.length) throw new UsageError(`--${flag} is required (or --pan and --ms GeoTIFFs)`);
  if (file !== undefined) {
    if (sniffFormat(file) === 'tif') throw new UsageError(`--${flag}: ${file} is a GeoTIFF${tifHint}`);
    return file;
  }
  if (!tifs.pan || !(tifs.ms || tifs.lms)) throw new UsageError('GeoTIFF input needs --pan and --ms (or --lms)');
  return Object.fromEntries(given.map((k) => [k, tifs[k]])) as { pan: string } & Partial<Record<Role, string>>;
}

/** The model to build from --model, --preset, --bands and --config (model options over the preset; the flags win). */
export function modelConfigOption(v: { model: string; preset?: string; bands?: string; config?: string }): Record<string, unknown> {
  const config: Record<string, unknown> = { model: v.model, ...jsonObjectOption(v.config, 'config', 'model options') };
  if (v.preset) config.preset = v.preset;
  const bands = intOption(v.bands, 'bands');
  if (bands !== undefined) config.bands = bands;
  return config;
}

/** Library option checks (RangeError, TypeError) raised while reading flags are usage errors. */
export function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
