/**
 * `specfuse train --nproc N`: N local processes of the same command, as torchrun
 * --nproc-per-node N would start them (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT; rank 0 hosts the TCPStore on a free loopback port), the machine's
 * cores split between them. Rank 0 keeps the terminal; the others' stdout is dropped (rank 0 logs
 * for all) and their stderr is prefixed with their rank. When one process fails the others are
 * stopped (SIGTERM), like torchrun's agent does, so that nobody waits out the timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:net';
import { threadsPerProcess } from '../distributed/options.js';

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface LaunchOptions {
  /** The command to run in each process (default: this Node and script). */
  command?: string;
  /** Arguments before `args` (default: Node's own flags and this script). */
  prefix?: string[];
  env?: Record<string, string | undefined>;
  cores?: number;
}

/** Runs `args` in `nproc` ranked processes; resolves to the exit code (the first failure's, else 0). */
export async function launchLocal(args: string[], nproc: number, o: LaunchOptions = {}): Promise<number> {
  if (!Number.isInteger(nproc) || nproc < 1) throw new RangeError(`--nproc: expected an integer >= 1, got ${nproc}`);
  const port = await freeLoopbackPort();
  const baseEnv = o.env ?? process.env;
  const threads = baseEnv.SPECFUSE_NUM_THREADS ?? String(threadsPerProcess(nproc, o.cores ?? availableParallelism()));
  const command = o.command ?? process.execPath;
  const prefix = o.prefix ?? [...process.execArgv, process.argv[1]!];
  const children: ChildProcess[] = [];
  let failed: number | null = null;
  const stopOthers = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  };
  // a signal to the launcher reaches every rank (they stop after the current step, together)
  const forward = (sig: NodeJS.Signals) => {
    for (const c of children) c.kill(sig);
  };
  const onInt = () => forward('SIGINT'),
    onTerm = () => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const exits = Array.from(
      { length: nproc },
      (_, rank) =>
        new Promise<number>((resolve) => {
          const env = {
            ...baseEnv,
            RANK: String(rank),
            LOCAL_RANK: String(rank),
            WORLD_SIZE: String(nproc),
            LOCAL_WORLD_SIZE: String(nproc),
            GROUP_RANK: '0',
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
            SPECFUSE_NUM_THREADS: threads,
          };
          const child = spawn(command, [...prefix, ...args], { env, stdio: ['inherit', rank === 0 ? 'inherit' : 'ignore', rank === 0 ? 'inherit' : 'pipe'] });
          children.push(child);
          if (rank > 0) {
            let pending = '';
            child.stderr!.on('data', (chunk: Buffer) => {
              const lines = (pending + chunk.toString()).split('\n');
              pending = lines.pop()!;
              for (const l of lines) process.stderr.write(`[rank ${rank}] ${l}\n`);
            });
            child.stderr!.on('end', () => {
              if (pending) process.stderr.write(`[rank ${rank}] ${pending}\n`);
            });
          }
          child.once('error', (e) => {
            process.stderr.write(`[rank ${rank}] ${e.message}\n`);
            resolve(1);
          });
          child.once('exit', (code, signal) => {
            const status = code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1);
            if (status !== 0 && failed === null) {
              failed = status;
              stopOthers();
            }
            resolve(status);
          });
        }),
    );
    const codes = await Promise.all(exits);
    return failed ?? codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/** `argv` without `flag` and its value (`--flag V` or `--flag=V`). */
export function withoutOption(argv: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) {
      i++;
      continue;
    }
    if (argv[i]!.startsWith(flag + '=')) continue;
    out.push(argv[i]!);
  }
  return out;
}
