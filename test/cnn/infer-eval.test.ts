// `specfuse infer` and `specfuse eval` load DLPan-Toolbox checkpoints through the same loader (the
// CNN family's checkpoint dialect): every released checkpoint works in `infer` and its fused image
// equals `eval`'s bit for bit on the same 64×64 input (one tile, so tiling adds nothing).
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPansharpeningInput, openMat, writePanCollection } from '../../lib/data/index.js';
import type { HostArray } from '../../lib/host.js';
import { MODELS, PATCH, REPO, SENSORS, checkpoint, dataUnavailable } from './fixtures/helpers.js';

const CLI = join(REPO, 'bin/specfuse.js');
const skip = dataUnavailable() || (existsSync(join(REPO, 'dist/cli/infer.js')) ? false : 'dist/ is not built (npx tsc -p tsconfig.json)');

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((ok, fail) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => {
      out += String(c);
    });
    p.stderr.on('data', (c) => {
      out += String(c);
    });
    p.on('error', fail);
    p.on('close', (code) => ok({ code: code ?? -1, out }));
  });
}

/** The first sample's first `bands` bands, as a one-sample PanCollection set. */
function firstBands(d: Awaited<ReturnType<typeof loadPansharpeningInput>>, bands: number) {
  const cut = (a: HostArray, c = bands): HostArray => {
    const [, , H, W] = a.shape as [number, number, number, number];
    return { dtype: a.dtype, shape: [1, c, H, W], data: a.data.slice(0, c * H * W) as HostArray['data'] };
  };
  return { gt: cut(d.gt!), lms: cut(d.lms!), ms: cut(d.ms!), pan: cut(d.pan, 1) };
}

const readSr = (path: string): HostArray => {
  const f = openMat(path);
  try {
    return f.read('sr');
  } finally {
    f.close();
  }
};

t.test('infer equals eval for every DLPan checkpoint', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-infer-eval-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const d = await loadPansharpeningInput(PATCH);
  for (const { sensor, bands } of SENSORS) {
    // the WV3 patch's first image, cut to the sensor's band count (QB: 4), written as the input of both
    const input = join(dir, `${sensor}.h5`);
    await writePanCollection(input, firstBands(d, bands));
    for (const model of MODELS) {
      const weights = checkpoint(sensor, model);
      const fused = join(dir, `${sensor}-${model}.mat`);
      const inf = await cli(['infer', '--model', model, '--weights', weights, '--input', input, '--scale', '2047', '--out', fused]);
      t.equal(inf.code, 0, `${sensor} ${model}: infer exits 0${inf.code ? `\n${inf.out}` : ''}`);
      const evalOut = join(dir, `${sensor}-${model}-eval`);
      const ev = await cli(['eval', '--model', model, '--weights', weights, '--data', input, '--scale', '2047', '--out', evalOut]);
      t.equal(ev.code, 0, `${sensor} ${model}: eval exits 0${ev.code ? `\n${ev.out}` : ''}`);
      if (inf.code || ev.code) continue;
      const a = readSr(fused),
        b = readSr(join(evalOut, `${model}_fused.mat`));
      t.same(a.shape, [64, 64, bands], `${sensor} ${model}: H×W×C`);
      t.equal(a.dtype, b.dtype, `${sensor} ${model}: same dtype`);
      const x = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);
      const y = Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength);
      t.ok(x.equals(y), `${sensor} ${model}: infer's fused image equals eval's bit for bit`);
    }
  }
});
