/**
 * Random access to bytes that may live in memory or in a file, so lazy readers (the .mat
 * directory listing, format sniffing) can look at a few headers of a multi-gigabyte file
 * without reading all of it. Every read is bounds-checked here once, so the parsers above
 * cannot run off the end.
 */
import fs from 'node:fs';
import { DataFormatError } from './format-errors.js';

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Label used in error messages (file path or "<buffer>"). */
  readonly label: string;
  /**
   * Exactly `length` bytes at `offset`; throws DataFormatError('truncated') when the source is
   * shorter. `what` names the structure being read, for the error message.
   */
  read(offset: number, length: number, what: string): Uint8Array;
  close(): void;
}

function checkRange(src: { size: number; label: string }, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new DataFormatError('corrupt', `invalid position for ${what}: offset ${offset}, length ${length}`, { file: src.label });
  }
  if (offset + length > src.size) {
    throw new DataFormatError('truncated', `file ends inside ${what}: needs bytes ${offset}..${offset + length}, file has ${src.size}`, {
      file: src.label,
      offset,
    });
  }
}

export function bufferSource(bytes: Uint8Array, label = '<buffer>'): ByteSource {
  return {
    size: bytes.byteLength,
    label,
    read(offset, length, what) {
      checkRange(this, offset, length, what);
      return bytes.subarray(offset, offset + length);
    },
    close() {},
  };
}

/** Reads from an open file with positional reads; nothing is cached, callers read what they need once. */
export function fileSource(path: string): ByteSource {
  const fd = fs.openSync(path, 'r');
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  let open = true;
  return {
    size,
    label: path,
    read(offset, length, what) {
      checkRange(this, offset, length, what);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, length - done, offset + done);
        // A file that shrank after fstat: report it as truncation rather than looping forever.
        if (n === 0) throw new DataFormatError('truncated', `file shrank while reading ${what}`, { file: path, offset: offset + done });
        done += n;
      }
      return out;
    },
    close() {
      if (open) {
        open = false;
        fs.closeSync(fd);
      }
    },
  };
}

/** First `n` bytes (or fewer, if the file is shorter) of a file, for format sniffing. */
export function readHead(path: string, n: number): Uint8Array {
  const fd = fs.openSync(path, 'r');
  try {
    const out = new Uint8Array(n);
    const got = fs.readSync(fd, out, 0, n, 0);
    return out.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}
