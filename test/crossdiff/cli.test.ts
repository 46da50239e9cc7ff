// `specfuse train --model crossdiff` from the real IKONOS scene: stage 1 at full resolution (no gt,
// the held-out report samples each denoiser), stage 2 from stage 1's weights at reduced resolution
// (held-out metrics against EXP), and `specfuse info`.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA, dataUnavailable } from '../protocol/helpers.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'bin', 'specfuse.js');
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-crossdiff-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

t.test('train stage 1 then stage 2 on a scene, with held-out reports', { skip: dataUnavailable('ikonos_vitale.mat') }, async (t) => {
  const scene = join(DATA, 'ikonos_vitale.mat');
  const s1 = run(
    'train',
    '--model',
    'crossdiff',
    '--preset',
    'tiny',
    '--stage',
    '1',
    '--scene',
    scene,
    '--resolution',
    'full',
    '--steps',
    '4',
    '--out',
    join(tmp, 's1'),
  );
  t.match(s1, /stage 1: 141,150 of 442,669 parameters trainable; 1131 samples \(full-resolution tiles/);
  const r1 = JSON.parse(readFileSync(join(tmp, 's1', 'heldout.json'), 'utf8'));
  t.ok(Number.isFinite(r1.samples['p2m PSNR (dB)']) && Number.isFinite(r1.samples['m2p PSNR (dB)']), 'DDIM samples of both denoisers scored');
  const s2 = run(
    'train',
    '--model',
    'crossdiff',
    '--preset',
    'tiny',
    '--stage',
    '2',
    '--init',
    join(tmp, 's1', 'final.safetensors'),
    '--scene',
    scene,
    '--patch',
    '32',
    '--steps',
    '4',
    '--out',
    join(tmp, 's2'),
  );
  t.match(s2, /stage 2: 301,519 of 442,669 parameters trainable/);
  t.match(s2, /held-out reduced \(20 tiles\) EXP +SAM 2\.6208/);
  const r2 = JSON.parse(readFileSync(join(tmp, 's2', 'heldout.json'), 'utf8'));
  t.same(Object.keys(r2.methods), ['crossdiff', 'EXP', 'Brovey', 'BT-H', 'GSA', 'MTF-GLP-HPM'], 'the model and every classical method');
  t.notOk(r2.cut21, '32-pixel held-out tiles are too small for the 21-pixel cut');
  t.ok(existsSync(join(tmp, 's2', 'final.safetensors')));
  const info = JSON.parse(run('info', '--model', 'crossdiff', '--preset', 'qb', '--stage', '2', '--json'));
  t.equal(info.total ?? info.counts?.total, 6_963_533);
});

t.test('usage errors', async (t) => {
  t.throws(() => run('train', '--model', 'crossdiff', '--steps', '1'), /give one of --data/);
  t.throws(() => run('train', '--model', 'crossdiff', '--scene', 'x.mat', '--resolution', 'half', '--steps', '1'), /--resolution: expected reduced \| full/);
});
