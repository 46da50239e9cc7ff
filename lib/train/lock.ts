/**
 * A lock file on a run folder, so that two runs never share one: they would interleave their logs,
 * prune each other's checkpoints and delete each other's temporary folders. The lock holds the
 * owner's PID; a lock whose process is gone (killed, crashed) is stale and taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';

export interface Lock {
  readonly path: string;
  release(): void;
}

/** Locks held by this process (a second acquire of the same folder from here is refused too). */
const held = new Set<string>();

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `dir`'s lock or throws an Error naming the folder and the process that holds it. */
export function acquireLock(dir: string, what = 'run folder'): Lock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '.lock');
  const busy = (pid: number | string) =>
    new Error(
      `${what}: ${dir} is in use by another run (process ${pid}); wait for it to finish or use another folder (a lock left by a process that is gone is taken over)`,
    );
  if (held.has(path)) throw busy(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(JSON.parse(readFileSync(path, 'utf8')).pid);
      } catch {
        /* being written, or cut short: checked again below */
      }
      if (Number.isInteger(owner) && owner > 0 && running(owner)) throw busy(owner);
      if (!Number.isInteger(owner) && attempt === 0) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        continue;
      }
      rmSync(path, { force: true }); // stale: its process is gone
      continue;
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n');
    } finally {
      closeSync(fd);
    }
    held.add(path);
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        held.delete(path);
        rmSync(path, { force: true });
      },
    };
  }
  throw busy('unknown');
}
