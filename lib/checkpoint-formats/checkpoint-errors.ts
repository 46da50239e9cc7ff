/**
 * The one error type every checkpoint reader throws. Callers (and the fuzz tests) rely on
 * this: any malformed, truncated or hostile input must surface as a CheckpointError, never as
 * a RangeError from a typed array or a TypeError from walking a half-built object.
 */
export type CheckpointErrorCode =
  | 'format' // not a file type we know, or a container that is structurally wrong
  | 'truncated' // the bytes end before a structure does
  | 'bounds' // an offset/size points outside its container
  | 'limit' // a safety limit (size, depth, count) was exceeded
  | 'corrupt' // checksums or internal consistency checks fail
  | 'unsupported' // well-formed, but uses a feature/dtype we do not read
  | 'pickle' // the pickle stream is malformed
  | 'refused' // the pickle asks to run code we will not run
  | 'no-state-dict' // nothing in the file looks like a state dict
  | 'invalid'; // an argument given to a writer is inconsistent

export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string) {
    super(message);
    this.name = 'CheckpointError';
    this.code = code;
  }
}

/** Assert-style helper: keeps the many bounds checks one line each. */
export function check(cond: boolean, code: CheckpointErrorCode, message: string | (() => string)): asserts cond {
  if (!cond) throw new CheckpointError(code, typeof message === 'string' ? message : message());
}
