/**
 * Access to h5wasm (HDF5 compiled to WebAssembly) for the .h5 readers and writers.
 *
 * Why its "node" build: it is compiled with Emscripten's NODERAWFS, so HDF5's own file driver
 * reads and writes the host file directly with positional fs calls. Nothing is mounted or
 * copied into the wasm heap; only the hyperslab being read passes through memory, which is
 * what lets a 5 GB PanCollection file be iterated in a small, constant footprint.
 *
 * HDF5 prints its error stack straight to file descriptor 2. `h5call` captures that text
 * (by diverting fs.writeSync for fd 2 during the synchronous call: no other JS can run in
 * between) and turns failures into a DataFormatError carrying HDF5's own reason.
 */
import fs from 'node:fs';
import type * as H5 from 'h5wasm';
import { readHead } from './bytesource.js';
import { DataFormatError, type DataFormatErrorCode, isSystemError } from './format-errors.js';

export type H5Module = typeof H5;
export type H5File = H5.File;
export type H5Dataset = H5.Dataset;

let loading: Promise<H5Module> | undefined;

/** Loads the wasm module once, on first use (it is 4 MB: callers who never touch .h5 never pay). */
export function h5wasm(): Promise<H5Module> {
  loading ??= import('h5wasm/node').then(async (m) => {
    await m.ready;
    return m as unknown as H5Module;
  });
  return loading;
}

type WriteSync = typeof fs.writeSync;

/** Runs a synchronous h5wasm call with HDF5's stderr diagnostics captured instead of printed. */
function captured<T>(fn: () => T): { value?: T; error?: unknown; stderr: string } {
  const original: WriteSync = fs.writeSync;
  let text = '';
  const patched = function (this: unknown, fd: number, buffer: unknown, ...rest: unknown[]): number {
    if (fd !== 2) return (original as (...a: unknown[]) => number).call(this, fd, buffer, ...rest);
    if (typeof buffer === 'string') {
      text += buffer;
      return Buffer.byteLength(buffer);
    }
    const view = buffer as Uint8Array;
    const offset = typeof rest[0] === 'number' ? rest[0] : 0;
    const length = typeof rest[1] === 'number' ? rest[1] : view.byteLength - offset;
    text += Buffer.from(view.buffer, view.byteOffset + offset, length).toString('utf8');
    return length;
  };
  (fs as { writeSync: WriteSync }).writeSync = patched as unknown as WriteSync;
  try {
    return { value: fn(), stderr: text };
  } catch (error) {
    return { error, stderr: text };
  } finally {
    (fs as { writeSync: WriteSync }).writeSync = original;
  }
}

/** The most specific lines of an HDF5 error stack: the innermost frame's message. */
function hdf5Reason(stderr: string): string {
  const frames = [...stderr.matchAll(/#\d+: .*? in (\w+)\(\): (.*)/g)];
  const last = frames.at(-1);
  return last ? last[2]!.trim() : '';
}

function classify(reason: string): DataFormatErrorCode {
  if (/truncated|eof|end of file|addr overflow|address.*(beyond|overflow)/i.test(reason)) return 'truncated';
  if (/signature/i.test(reason)) return 'bad-magic';
  return 'corrupt';
}

/**
 * Runs an h5wasm call; any failure becomes DataFormatError with HDF5's reason and `what`.
 * System errors from our own code (not h5wasm's "error - name not defined!") pass through.
 */
export function h5call<T>(what: string, file: string, fn: () => T, key?: string): T {
  const r = captured(fn);
  if (r.error === undefined) return r.value as T;
  if (r.error instanceof DataFormatError || isSystemError(r.error)) throw r.error;
  const reason = hdf5Reason(r.stderr);
  const msg = r.error instanceof Error ? r.error.message : String(r.error);
  const details: { file: string; key?: string; cause: unknown } = { file, cause: r.error };
  if (key !== undefined) details.key = key;
  throw new DataFormatError(reason ? classify(reason) : 'corrupt', `HDF5 could not ${what}: ${reason || msg}`, details);
}

/**
 * h5call for writes (failures are I/O errors, not format errors, so a plain Error): HDF5 reports many write failures (a full disk, EFBIG under `ulimit -f`) only
 * as diagnostics on stderr while h5wasm returns normally, so any diagnostic counts as a failure.
 */
export function h5write<T>(what: string, file: string, fn: () => T, key?: string): T {
  const r = captured(fn);
  if (r.error === undefined && !/HDF5-DIAG|error/i.test(r.stderr)) return r.value as T;
  if (r.error instanceof DataFormatError) throw r.error;
  const reason = hdf5Reason(r.stderr) || (r.error instanceof Error ? r.error.message : String(r.error ?? r.stderr.trim()));
  throw new Error(`${file}: HDF5 could not ${what}${key !== undefined ? ` '${key}'` : ''}: ${reason} (disk full or file size limit?)`, { cause: r.error });
}

/** Flushes and closes a file being written, checking HDF5's close status as well as its diagnostics. */
export function h5closeWritten(file: H5File, path: string): void {
  const status = h5write('write and close the file', path, () => {
    file.flush();
    return file.close() as unknown;
  });
  if (typeof status === 'number' && status < 0) {
    throw new Error(`${path}: HDF5 could not close the file (status ${status}): it is incomplete (disk full or file size limit?)`);
  }
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when an HDF5 superblock signature sits at one of the offsets HDF5 searches (0, 512, 1024, ...). */
export function hasHdf5Signature(bytes: Uint8Array, at = 0): boolean {
  return SIGNATURE.every((b, i) => bytes[at + i] === b);
}

/**
 * Checks a path before HDF5 sees it, so the common mistakes get precise errors (and HDF5 no
 * diagnostics): missing file (ENOENT passes through), empty file, not HDF5 at all.
 */
export function checkHdf5File(path: string): void {
  const st = fs.statSync(path);
  if (!st.isFile()) throw new DataFormatError('bad-argument', 'not a regular file', { file: path });
  if (st.size === 0) throw new DataFormatError('truncated', 'file is empty', { file: path });
  // The superblock may follow a user block of 512 * 2^k bytes (MATLAB v7.3 uses 512).
  const head = readHead(path, Math.min(st.size, 4096 + 8));
  for (let at = 0; at + 8 <= head.length; at = at === 0 ? 512 : at * 2) {
    if (hasHdf5Signature(head, at)) return;
  }
  if (st.size < 8) throw new DataFormatError('truncated', `file of ${st.size} bytes is too short for an HDF5 signature`, { file: path });
  throw new DataFormatError('bad-magic', 'not an HDF5 file (no HDF5 signature)', { file: path });
}

/** Opens an HDF5 file for reading: the signature is checked first, the wasm module loads on first use. */
export async function openHdf5ForReading(path: string): Promise<{ h5: H5Module; file: H5File }> {
  checkHdf5File(path);
  const h5 = await h5wasm();
  const file = h5call('open the file', path, () => {
    const f = new h5.File(path, 'r');
    // h5wasm reports some failed opens (e.g. truncated files) only as an invalid id
    if (f.file_id < 0n) throw new Error('open failed');
    return f;
  });
  return { h5, file };
}
