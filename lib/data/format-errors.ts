/**
 * The one error type every reader and writer in lib/data throws for bad input, so callers can
 * tell "this file is broken or not what you said" apart from programming errors and I/O
 * failures (ENOENT and friends are passed through untouched: they are not format problems).
 */
export type DataFormatErrorCode =
  /** The file ends before a structure it announces (cut download, partial copy). */
  | 'truncated'
  /** A structure is present but self-contradictory (bad sizes, bad compressed stream, ...). */
  | 'corrupt'
  /** Well-formed, but a feature this reader does not handle (complex, cell, BigTIFF, ...). */
  | 'unsupported'
  /** The bytes are not the format they were asked to be read as. */
  | 'bad-magic'
  /** A required variable, dataset or key is absent. */
  | 'missing-key'
  /** Arrays are present but their shapes, band counts or dtypes do not fit together. */
  | 'shape'
  /** An argument given to a writer or reader (range, name, dtype) is invalid. */
  | 'bad-argument';

export interface DataFormatErrorDetails {
  /** File path (or a label such as "<buffer>") the problem was found in. */
  file?: string;
  /** Byte offset of the offending structure, when known. */
  offset?: number;
  /** Variable / dataset / key the problem concerns, when known. */
  key?: string;
  cause?: unknown;
}

export class DataFormatError extends Error {
  readonly code: DataFormatErrorCode;
  readonly file?: string;
  readonly offset?: number;
  readonly key?: string;

  constructor(code: DataFormatErrorCode, message: string, details: DataFormatErrorDetails = {}) {
    // The location goes into the message too, because most users only ever see the message.
    const where: string[] = [];
    if (details.file !== undefined) where.push(details.file);
    if (details.key !== undefined) where.push(`'${details.key}'`);
    if (details.offset !== undefined) where.push(`at byte ${details.offset}`);
    super(where.length ? `${message} (${where.join(', ')})` : message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'DataFormatError';
    this.code = code;
    if (details.file !== undefined) this.file = details.file;
    if (details.offset !== undefined) this.offset = details.offset;
    if (details.key !== undefined) this.key = details.key;
  }
}

/** True for errors that mean "the file system said no", which must not be disguised as format errors. */
export function isSystemError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}
