/**
 * Every file specfuse writes goes through here: written under a temporary name in the target
 * folder, checked (byte count), fsynced, then renamed over the final name, and the folder fsynced.
 * A failure at any point (full disk, EFBIG under `ulimit -f`, EIO) is thrown and the previous file,
 * if any, survives; a process killed midway leaves at most a temporary file, never a truncated one
 * under the final name. Temporaries left by dead processes are removed on the next write.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  accessSync,
  constants,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

let counter = 0;
const TMP_RE = /\.tmp-(\d+)-\d+$/;

/** A temporary name for `path` in the same folder (same filesystem: the rename is atomic). */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${++counter}`;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, someone else's
  }
}

/** Removes temporaries of `path` left by processes that no longer run (killed mid-write). */
export function removeStaleTemporaries(path: string): void {
  const dir = dirname(path),
    base = basename(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(`${base}.tmp-`)) continue;
    const m = n.slice(base.length).match(TMP_RE);
    if (m && !alive(Number(m[1]))) rmSync(join(dir, n), { recursive: true, force: true });
  }
}

/** fsyncs a file or folder by path. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames the finished temporary over `path` and makes the rename durable (for writers that manage their own temporary). */
export function commit(tmp: string, path: string): void {
  fsyncPath(tmp);
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}

/**
 * Runs `write(tmp)` to produce the file under a temporary name, then commits it to `path`.
 * `write` must throw on any failure; `expectedBytes`, when given, is checked against the result.
 */
export function writeAtomically<T>(path: string, write: (tmp: string) => T, expectedBytes?: number): T {
  mkdirSync(dirname(path), { recursive: true });
  removeStaleTemporaries(path);
  const tmp = tempPathFor(path);
  try {
    const r = write(tmp);
    checkSize(tmp, path, expectedBytes);
    commit(tmp, path);
    return r;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw withPath(e, path);
  }
}

/** writeAtomically for writers that need to await (HDF5 loads its wasm module first). */
export async function writeAtomicallyAsync<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  removeStaleTemporaries(path);
  const tmp = tempPathFor(path);
  try {
    const r = await write(tmp);
    commit(tmp, path);
    return r;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw withPath(e, path);
  }
}

function checkSize(tmp: string, path: string, expected: number | undefined): void {
  if (expected === undefined) return;
  const got = statSync(tmp).size;
  if (got !== expected) throw new Error(`${path}: wrote ${got} of ${expected} bytes`);
}

/** Writes bytes (or text) to `path` atomically. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  writeAtomically(
    path,
    (tmp) => {
      const fd = openSync(tmp, 'w');
      try {
        writeFileSync(fd, data);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    },
    data.byteLength,
  );
}

/** System errors name the path they were about (Node's own message often gives only the temporary, or none). */
function withPath(e: unknown, path: string): unknown {
  if (e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).code === 'string' && !e.message.includes(path)) {
    const code = (e as NodeJS.ErrnoException).code!;
    const why = {
      ENOSPC: 'the disk is full',
      EFBIG: 'the file is larger than allowed (disk quota or ulimit -f)',
      EDQUOT: 'the disk quota is exhausted',
      EACCES: 'permission denied',
      EROFS: 'read-only filesystem',
      EIO: 'I/O error',
    }[code];
    e.message = `could not write ${path}${why ? `: ${why}` : ''} (${e.message})`;
  }
  return e;
}

/**
 * Checks, before any work, that `path` can be written: not a folder, its folder exists (or can be
 * created: `create`) and is writable. Throws an Error that names the path and says what is wrong.
 */
export function checkWritableFile(path: string, what = 'output', create = true): void {
  const abs = resolve(path);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new Error(`${what}: ${abs} is a folder; give a file name (e.g. ${join(abs, 'fused.tif')})`);
  checkWritableFolder(dirname(abs), what, create);
}

/** Checks that folder `dir` exists or can be created, and is writable. */
export function checkWritableFolder(dir: string, what = 'output', create = true): void {
  const abs = resolve(dir);
  let probe = abs;
  while (!existsSync(probe)) {
    if (!create) throw new Error(`${what}: the folder ${abs} does not exist`);
    const up = dirname(probe);
    if (up === probe) break;
    probe = up;
  }
  if (!statSync(probe).isDirectory()) throw new Error(`${what}: ${probe} is a file, not a folder, so ${abs} cannot be created`);
  try {
    accessSync(probe, constants.W_OK);
  } catch {
    throw new Error(`${what}: the folder ${probe} is not writable`);
  }
}
