// The official CrossDiff release saves P2M, M2P and the fusion head as three files, each UNet under
// `denoise_fn.` beside the 12 buffers of GaussianDiffusion's schedule. This test writes files in
// that layout itself (safetensors, from a tiny CrossDiff) and loads them through loadWeights and
// `specfuse train --init`: every tensor lands, the schedule buffers are ignored and reported.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CROSSDIFF_SCHEDULE_BUFFERS, createModel, loadWeights, WeightsError, type Module } from '../../lib/index.js';
import { manualSeed } from '../../lib/tensor.js';
import { writeSafetensors } from '../../lib/checkpoint-formats/index.js';
import type { HostArray } from '../../lib/host.js';
import { DATA, PYTHON, dataUnavailable, pythonUnavailable } from '../protocol/helpers.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-crossdiff-official-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

async function hostState(m: Module): Promise<Map<string, HostArray>> {
  const out = new Map<string, HostArray>();
  for (const [k, v] of Object.entries(m.stateDict())) {
    out.set(k, await v.toHost());
    v.dispose();
  }
  return out;
}

const schedule = (): Map<string, HostArray> =>
  new Map(CROSSDIFF_SCHEDULE_BUFFERS.map((n, i) => [n, { dtype: 'float32', shape: [1000], data: new Float32Array(1000).fill(i / 10) }]));

/** Writes `source`'s weights as the release does: p2m.pth-like, m2p.pth-like and head files. */
async function writeOfficial(source: Module, dir: string): Promise<{ p2m: string; m2p: string; head: string }> {
  const state = await hostState(source);
  const part = (prefix: string, into: string, extra = new Map<string, HostArray>()) => {
    const m = new Map(extra);
    for (const [k, v] of state) if (k.startsWith(`${prefix}.`)) m.set(into + k.slice(prefix.length + 1), v);
    return m;
  };
  const files = {
    p2m: join(dir, 'I6944000_E1000_gen_p2m.safetensors'),
    m2p: join(dir, 'I2777600_E400_gen_m2p.safetensors'),
    head: join(dir, 'fusionnet_2.safetensors'),
  };
  writeFileSync(files.p2m, writeSafetensors(part('p2m', 'denoise_fn.', schedule())));
  writeFileSync(files.m2p, writeSafetensors(part('m2p', 'denoise_fn.', schedule())));
  writeFileSync(files.head, writeSafetensors(part('head', '')));
  return files;
}

const sameBits = (a: HostArray, b: HostArray) =>
  Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

t.test('the three official files load through loadWeights', async (t) => {
  manualSeed(1);
  const source = createModel({ model: 'crossdiff', preset: 'tiny' });
  manualSeed(2);
  const target = createModel({ model: 'crossdiff', preset: 'tiny' });
  t.teardown(() => {
    source.dispose();
    target.dispose();
  });
  const files = await writeOfficial(source, tmp);
  const want = await hostState(source);
  const before = await hostState(target);
  t.notOk(
    [...want].every(([k, v]) => sameBits(v, before.get(k)!)),
    'the two seeds give different weights (the load has something to do)',
  );

  // in any order: each file says what it holds
  const r = await loadWeights(target, [files.head, files.m2p, files.p2m]);
  t.equal(r.loaded.length, want.size, `all ${want.size} tensors loaded`);
  t.same([r.missing, r.unexpected, r.shapeMismatch], [[], [], []], 'nothing missing, unexpected or mismatched');
  t.equal(r.ignored.length, 24, '12 schedule buffers per UNet file ignored');
  t.same(
    r.ignored.filter((n) => n.startsWith(files.p2m)).map((n) => n.slice(files.p2m.length + 2)),
    [...CROSSDIFF_SCHEDULE_BUFFERS],
    'reported by file and name',
  );
  t.same((r as unknown as { files: object }).files, { head: files.head, m2p: files.m2p, p2m: files.p2m }, 'which file held which part');
  const got = await hostState(target);
  t.ok(
    [...want].every(([k, v]) => sameBits(v, got.get(k)!)),
    'every tensor equals the source bit for bit',
  );
});

t.test('the same files as torch.save writes them (.pth), via the Python oracle', { skip: pythonUnavailable() }, async (t) => {
  manualSeed(5);
  const source = createModel({ model: 'crossdiff', preset: 'tiny' });
  manualSeed(6);
  const target = createModel({ model: 'crossdiff', preset: 'tiny' });
  t.teardown(() => {
    source.dispose();
    target.dispose();
  });
  const dir = mkdtempSync(join(tmp, 'pth-'));
  const files = await writeOfficial(source, dir);
  // torch.save of an OrderedDict of tensors, as GaussianDiffusion.state_dict() gives it
  const script =
    'import sys, torch\nfrom safetensors.torch import load_file\nfor p in sys.argv[1:]:\n    torch.save(load_file(p), p.replace(".safetensors", ".pth"))';
  const py = spawnSync(PYTHON, ['-c', script, files.p2m, files.m2p, files.head], { encoding: 'utf8' });
  t.equal(py.status, 0, `torch.save wrote the .pth files${py.status ? `\n${py.stderr}` : ''}`);
  const pth = [files.p2m, files.m2p, files.head].map((f) => f.replace('.safetensors', '.pth'));
  const r = await loadWeights(target, pth);
  t.equal(r.loaded.length, 140, 'all 140 tensors loaded');
  t.equal(r.ignored.length, 24, 'the 24 schedule buffers ignored');
  const [want, got] = [await hostState(source), await hostState(target)];
  t.ok(
    [...want].every(([k, v]) => sameBits(v, got.get(k)!)),
    'every tensor equals the source bit for bit',
  );
});

t.test('the two UNets alone leave the head as it is; bad sets are refused', async (t) => {
  manualSeed(3);
  const source = createModel({ model: 'crossdiff', preset: 'tiny' });
  const target = createModel({ model: 'crossdiff', preset: 'tiny' });
  t.teardown(() => {
    source.dispose();
    target.dispose();
  });
  const dir = mkdtempSync(join(tmp, 'two-'));
  const files = await writeOfficial(source, dir);
  const r = await loadWeights(target, [files.p2m, files.m2p]);
  t.ok(r.missing.length > 0 && r.missing.every((n) => n.startsWith('head.')), `only the head is missing (${r.missing.length} tensors)`);
  await t.rejects(loadWeights(target, [files.p2m, files.p2m]), /both hold the P2M/, 'the same part twice');
  const one = await loadWeights(target, [files.p2m]);
  t.ok(one.missing.every((n) => /^(m2p|head)\./.test(n)) && one.loaded.every((n) => n.startsWith('p2m.')), 'P2M alone: only p2m.* loaded');
  // a UNet file with a stray tensor: unexpected, not silently ignored
  const stray = join(dir, 'stray.safetensors');
  writeFileSync(
    stray,
    writeSafetensors(
      new Map([
        ...schedule(),
        ['ema_decay', { dtype: 'float32', shape: [1], data: new Float32Array(1) }],
        ['denoise_fn.final2.weight', { dtype: 'float32', shape: [1, 8, 3, 3], data: new Float32Array(72) }],
      ]),
    ),
  );
  const e = await loadWeights(target, [stray]).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(e instanceof WeightsError && e.report.unexpected.includes('ema_decay'), 'ema_decay is unexpected');
  const tiny8 = createModel({ model: 'crossdiff', preset: 'tiny8' });
  t.teardown(() => tiny8.dispose());
  await t.rejects(loadWeights(tiny8, [files.p2m]), /predicting 4 bands: neither P2M \(8\) nor M2P \(1\)/, '4-band files into an 8-band model');
});

t.test('specfuse train --init takes the three official files', { skip: dataUnavailable('ikonos_vitale.mat') }, async (t) => {
  manualSeed(4);
  const source = createModel({ model: 'crossdiff', preset: 'tiny' });
  t.teardown(() => source.dispose());
  const dir = mkdtempSync(join(tmp, 'cli-'));
  const files = await writeOfficial(source, dir);
  const out = execFileSync(
    process.execPath,
    [
      join(root, 'bin', 'specfuse.js'),
      'train',
      '--model',
      'crossdiff',
      '--preset',
      'tiny',
      '--stage',
      '2',
      '--init',
      files.p2m,
      '--init',
      files.m2p,
      '--init',
      files.head,
      '--scene',
      join(DATA, 'ikonos_vitale.mat'),
      '--patch',
      '32',
      '--steps',
      '1',
      '--out',
      join(dir, 'run'),
    ],
    { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.match(
    out,
    /init: loaded 140 tensors from .*gen_p2m\.safetensors, .*gen_m2p\.safetensors, .*fusionnet_2\.safetensors; ignored 24: /,
    'all loaded, 24 ignored',
  );
  t.match(out, /ignored 24: .*: betas, /, 'the schedule buffers named');
});
