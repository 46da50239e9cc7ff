// Spawns the ranks of one job (test fixtures under ./fixtures), each a Node process with one
// intra-op thread, and collects the JSON line each prints.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export interface RankOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  json: Record<string, unknown> | null;
  stderr: string;
  seconds: number;
}

export function runProcess(cmd: string, args: string[], env: Record<string, string> = {}, killAfterMs = 240_000): Promise<RankOutput> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SPECFUSE_NUM_THREADS: '1', OMP_NUM_THREADS: '1', ...env } });
    let out = '',
      err = '';
    p.stdout.on('data', (c) => {
      out += c;
    });
    p.stderr.on('data', (c) => {
      err += c;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), killAfterMs); // a hang fails the test instead of the suite
    p.once('error', reject);
    p.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop();
      resolve({ code, signal, json: line ? (JSON.parse(line) as Record<string, unknown>) : null, stderr: err, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** Runs one Node fixture per job (argv[2] = the job as JSON), all at once. */
export function runRanks(script: string, jobs: object[]): Promise<RankOutput[]> {
  return Promise.all(jobs.map((j) => runProcess(process.execPath, ['--import=tsx', fixture(script), JSON.stringify(j)])));
}

/** A TCP port free on loopback now (the store's host binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
