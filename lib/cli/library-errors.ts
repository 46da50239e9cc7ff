/**
 * The library's errors in the CLI's words: a workflow names its options as its options object
 * does (`fillNonFinite`, `sensor`); the command line has flags (`--fill-non-finite`, `--sensor`).
 * A WorkflowOptionError becomes a UsageError (exit 2, with the command's help); a NonFiniteError
 * says which flag replaces the values; a WorkflowInputError names the flag of the input.
 */
import { NonFiniteError, WorkflowInputError, WorkflowOptionError } from '../workflows/workflow-errors.js';
import { UsageError } from './args.js';

/** `fillNonFinite` -> `--fill-non-finite`. */
export const flagOf = (option: string): string => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Library option names in a message, as the flags the user typed. */
export function inFlags(message: string, flags: Readonly<Record<string, string>> = {}): string {
  return message
    .replace(/set fillNonFinite to replace them/g, 'pass --fill-non-finite VALUE to replace them')
    .replace(/\(fillNonFinite\)/g, '(--fill-non-finite)')
    .replace(/set scale 1/g, 'pass --scale 1')
    .replace(/give the sensor, or the scale/g, 'give --sensor, or --scale')
    .replace(/set sample I/g, 'pass --sample I')
    .replace(/^(\w+)(?=:| is required)/, (m) => flags[m] ?? flagOf(m));
}

/** Runs a command body with the library's errors translated (flags: option -> flag where they differ). */
export async function withCliErrors<T>(body: () => Promise<T>, flags: Readonly<Record<string, string>> = {}): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof WorkflowOptionError) throw new UsageError(inFlags(e.message, flags));
    if (e instanceof NonFiniteError || e instanceof WorkflowInputError) throw new Error(inFlags(e.message, flags), { cause: e });
    throw e;
  }
}

/** The CLI's warning sink: a bullet on stderr. */
export const printWarning = (message: string): void => {
  console.error(`• warning: ${inFlags(message)}`);
};
