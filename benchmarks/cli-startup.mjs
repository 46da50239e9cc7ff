// How long `specfuse info` takes to print the parameter counts of a full-size model, next to what it
// cannot avoid (starting Node, loading libtorch) and next to PyTorch doing the same from Python
// (import torch, build the reference PanAdapter on the meta device, count its parameters).
// Each command runs --runs times in turn (interleaved, so drift hits all of them alike); medians.
// Usage: node benchmarks/cli-startup.mjs [--runs 10] [--preset wv3] [--json out.json]
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { values: a } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, preset: { type: 'string', default: 'wv3' }, json: { type: 'string' }, python: { type: 'string' } },
});
const python = a.python ?? process.env.SPECFUSE_PYTHON ?? join(root, '.venv', 'bin', 'python');
const pyref = join(root, 'test', 'pyref');
const countInPython = [
  'import sys, torch',
  `sys.path.insert(0, ${JSON.stringify(pyref)})`,
  'from panadapter import PanAdapter, preset',
  "with torch.device('meta'):",
  `    m = PanAdapter(preset(${JSON.stringify(a.preset)}))`,
  'print(sum(p.numel() for p in m.parameters()))',
].join('\n');

const commands = [
  { name: 'node -e 0 (Node alone)', argv: [process.execPath, '-e', '0'] },
  { name: 'node: load the addon (libtorch)', argv: [process.execPath, '-e', `import(${JSON.stringify(join(root, 'dist', 'native.js'))})`] },
  {
    name: `specfuse info --model panadapter --preset ${a.preset}`,
    argv: [process.execPath, join(root, 'bin', 'specfuse.js'), 'info', '--model', 'panadapter', '--preset', a.preset],
  },
  { name: 'python -c "import torch"', argv: [python, '-c', 'import torch'] },
  { name: `python: import torch, meta-device PanAdapter ${a.preset}, count`, argv: [python, '-c', countInPython] },
];

// the two counts must agree, or the comparison is not of the same work
const ours = JSON.parse(execFileSync(commands[2].argv[0], [...commands[2].argv.slice(1), '--json'], { encoding: 'utf8' })).total;
const theirs = Number(execFileSync(python, ['-c', countInPython], { encoding: 'utf8' }).trim());
if (ours !== theirs) throw new Error(`parameter counts differ: specfuse ${ours}, PyTorch ${theirs}`);

const seconds = commands.map(() => []);
const peakKb = commands.map(() => []);
for (let r = 0; r < Number(a.runs); r++) {
  commands.forEach((c, i) => {
    const t0 = performance.now();
    const res = spawnSync('/usr/bin/time', ['-f', '%M', ...c.argv], { encoding: 'utf8' });
    const t = (performance.now() - t0) / 1000;
    if (res.status !== 0) throw new Error(`${c.name} failed (${res.status}): ${res.stderr}`);
    seconds[i].push(t);
    peakKb[i].push(Number(res.stderr.trim().split('\n').pop()));
  });
}
const rows = commands.map((c, i) => [
  c.name,
  median(seconds[i]).toFixed(2),
  Math.min(...seconds[i]).toFixed(2),
  Math.max(...seconds[i]).toFixed(2),
  (median(peakKb[i]) / 1024).toFixed(0),
]);
printTable(['command', 'median s', 'min s', 'max s', 'max RSS MB'], rows);
console.log(`${a.runs} runs each, interleaved; parameters counted: ${ours.toLocaleString('en-US')} on both sides`);
if (a.json) writeFileSync(a.json, JSON.stringify({ date: new Date().toISOString(), runs: Number(a.runs), parameters: ours, rows }, null, 2));
