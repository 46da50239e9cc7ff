/**
 * The errors a workflow throws for something its caller must change: an option value, or an input
 * that does not fit the option (a file without a sensor name and no `sensor` given). They name the
 * option as the library spells it (`sensor`, `fillNonFinite`); the CLI shows them as its flags
 * (`--sensor`, `--fill-non-finite`) with the command's help. Everything else a workflow throws is
 * an ordinary Error, TypeError or RangeError (bad data, weights that do not fit, ...).
 */

/** An error about one option (or the input it names): `option` says which, as the options object spells it. */
abstract class OptionError extends Error {
  readonly option: string;

  constructor(option: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.option = option;
  }
}

/** An option (or an input an option has to make up for) that the caller must change. */
export class WorkflowOptionError extends OptionError {}

/** An input that does not fit another (shapes, band counts): the data must change, not an option value. */
export class WorkflowInputError extends OptionError {}

/** Non-finite (NaN/±Inf) values where the workflow needs finite ones, and no `fillNonFinite` given. */
export class NonFiniteError extends Error {
  /** What holds them ("the MS of scene.mat"). */
  readonly label: string;

  constructor(label: string, message: string) {
    super(message);
    this.name = 'NonFiniteError';
    this.label = label;
  }
}

/** Throws the signal's reason (an AbortError) when it is aborted: called between units of work. */
export function checkAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}
