// `npm test`: runs the tap suite and ends with the plain summary line CI reads
// ("N passed, N failed, N skipped"). Extra arguments go to tap (e.g. a file list).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ensureTestOracles } from './test-oracles.mjs';

const require = createRequire(import.meta.url);
const tapBin = join(dirname(require.resolve('tap/package.json')), 'dist', 'esm', 'run.mjs');
const args = process.argv.slice(2);
ensureTestOracles();
// tap runs one test file per core at once; each process would start one intra-op thread per core, and
// OpenMP teams whose threads outnumber the cores spin-wait on descheduled peers (one run on 2 cores:
// 20 s alone, over 10 minutes next to another). One intra-op thread per test process, unless set.
const env = { ...process.env, SPECFUSE_NUM_THREADS: process.env.SPECFUSE_NUM_THREADS ?? '1' };
// Test processes run with --unhandled-rejections=strict (package.json, tap.node-arg): a rejection
// nobody handles fails its test file even where tap or a library installs an unhandledRejection
// listener (which would turn Node's default 'throw' into a silent warning).
const child = spawn(process.execPath, [tapBin, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });

let tail = '';
// CI keeps only the end of the log: remember every failing assertion with the file and subtests
// above it, and repeat them beside the summary so a red run says what failed.
const failures = [];
const stack = [];
let partial = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    const depth = (line.match(/^ */)[0].length / 4) | 0;
    const subtest = line.match(/^\s*# Subtest: (.*)$/);
    if (subtest) {
      stack.length = depth;
      stack[depth] = subtest[1];
      continue;
    }
    const notOk = line.match(/^\s*not ok \d+ - (.*?)(\s+# (time|TODO|SKIP).*)?$/);
    if (notOk && !/# (TODO|SKIP)/.test(line)) failures.push([...stack.slice(0, depth), notOk[1]].join(' > '));
  }
});
child.on('close', (code, signal) => {
  // tap closes with a line like "# { total: 274, pass: 270, fail: 3, skip: 1 }"
  const m = tail.match(/#\s*\{\s*total:\s*(\d+)([^}]*)\}/);
  const field = (name) => Number(m?.[2].match(new RegExp(`${name}:\\s*(\\d+)`))?.[1] ?? 0);
  // A failing assertion is also reported by every enclosing subtest: keep the innermost ones.
  const innermost = failures.filter((f) => !failures.some((g) => g !== f && g.startsWith(f + ' > ')));
  for (const f of innermost.slice(0, 40)) console.log(`FAILED: ${f}`);
  if (m) {
    const skipped = field('skip') + field('todo');
    console.log(`${field('pass')} passed, ${field('fail')} failed` + (skipped ? `, ${skipped} skipped` : ''));
  } else {
    console.log(`0 passed, 1 failed (tap ended without a summary${signal ? `, signal ${signal}` : ''})`);
  }
  process.exit(code ?? 1);
});
