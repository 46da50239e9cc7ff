// `specfuse train|eval|info --model infn` end to end on a small synthetic .mat cube (the CLI path is
// the same for the CAVE folder; the real-data training is test/infn/cave-train.test.ts).
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticCube } from '../helpers/synthetic-cube.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'bin', 'specfuse.js');
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-infn-cli-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const mat = join(tmp, 'scene.mat');
writeSyntheticCube(mat);

t.test('info: the INFN presets', async (t) => {
  const j = JSON.parse(run('info', '--model', 'infn', '--preset', 'cave', '--json'));
  t.equal(j.total, 2_867_615);
  t.same(Object.keys(j.modules), ['spa_encoder', 'spe_encoder', 'imnet']);
  const tiny = JSON.parse(run('info', '--model', 'infn', '--preset', 'tiny', '--bands', '20', '--json'));
  t.equal(tiny.total, tiny.trainable);
  t.match(run('info', '--help'), /infn: cave, harvard or tiny/);
});

t.test('train then eval: weights carry the config, metrics against bicubic', async (t) => {
  const out = join(tmp, 'run');
  const text = run(
    'train',
    '--model',
    'infn',
    '--preset',
    'tiny',
    '--data',
    mat,
    '--steps',
    '3',
    '--patch',
    '16',
    '--test-crop',
    '32',
    '--batch-size',
    '2',
    '--out',
    out,
  );
  t.match(text, /20 bands 64×80, ×4; \d+ training patches, 2 held-out crops/);
  t.match(text, /infn +PSNR +[\d.]+ dB +SAM +[\d.]+° +ERGAS +[\d.]+ +SSIM +[\d.]+/);
  t.match(text, /bicubic +PSNR/);
  for (const f of ['final.safetensors', 'metrics.json', 'train.jsonl']) t.ok(existsSync(join(out, f)), f);
  const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  t.equal(m.steps, 3);
  t.equal(m.crops, 2);
  t.ok(m.model.PSNR > 10 && m.bicubic.SAM >= 0);
  const ev = JSON.parse(run('eval', '--model', 'infn', '--weights', join(out, 'final.safetensors'), '--data', mat, '--test-crop', '32', '--json'));
  t.same(ev.bicubic, m.bicubic, 'eval reproduces the bicubic figures of training');
  t.ok(Math.abs(ev.model.PSNR - m.model.PSNR) < 1e-6, 'and the model figures (config read from the weights)');
  const whole = JSON.parse(run('eval', '--model', 'infn', '--weights', join(out, 'final.safetensors'), '--data', mat, '--whole', '--json'));
  t.equal(whole.crops, 1);
  // usage errors
  const bad = spawnSync(process.execPath, [cli, 'eval', '--model', 'infn', '--weights', join(out, 'final.safetensors'), '--data', mat, '--ratio', '8'], {
    encoding: 'utf8',
  });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /trained at ×4/);
  const noSteps = spawnSync(process.execPath, [cli, 'train', '--model', 'infn', '--data', mat], { encoding: 'utf8' });
  t.equal(noSteps.status, 2);
  t.match(noSteps.stderr, /exactly one of --epochs and --steps/);
  t.match(run('train', '--model', 'infn', '--help'), /--test-crop/);
});

t.test('train: the run folder and signals work as for the main trainer', async (t) => {
  const args = (out: string, steps: number) => [
    'train',
    '--model',
    'infn',
    '--preset',
    'tiny',
    '--data',
    mat,
    '--steps',
    String(steps),
    '--patch',
    '16',
    '--test-crop',
    '32',
    '--batch-size',
    '2',
    '--out',
    out,
  ];
  const cliSync = (...a: string[]) => spawnSync(process.execPath, [cli, ...a], { cwd: tmp, encoding: 'utf8' });
  const out = join(tmp, 'signal');
  // a long run, SIGTERM once 3 steps are logged; a second run on the folder meanwhile is refused
  let busy: ReturnType<typeof cliSync> | undefined;
  const code = await new Promise<number | null>((done) => {
    const p = spawn(process.execPath, [cli, ...args(out, 100000)], { cwd: tmp, stdio: 'ignore' });
    const poll = setInterval(() => {
      const log = join(out, 'train.jsonl');
      if (
        !existsSync(log) ||
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"step"')).length < 3
      )
        return;
      clearInterval(poll);
      busy = cliSync(...args(out, 5), '--resume');
      p.kill('SIGTERM');
    }, 20);
    p.once('exit', (c) => {
      clearInterval(poll);
      done(c);
    });
  });
  t.equal(code, 143, 'SIGTERM: exit 143');
  t.equal(busy?.status, 1, 'a second run on the busy folder exits 1');
  t.match(busy?.stderr, /is in use by another run \(process \d+\)/);
  t.ok(existsSync(join(out, 'aborted.safetensors')), 'aborted.safetensors');
  t.notOk(existsSync(join(out, 'final.safetensors')) || existsSync(join(out, 'metrics.json')), 'no final.safetensors, no metrics.json');
  const ck = readFileSync(join(out, 'checkpoints', 'latest'), 'utf8').trim();
  const stopped = JSON.parse(readFileSync(join(out, 'checkpoints', ck, 'state.json'), 'utf8')).batches as number;
  t.ok(stopped >= 3, `a checkpoint at step ${stopped}`);

  const again = cliSync(...args(out, stopped + 4));
  t.equal(again.status, 2, 'the folder holds a run: neither --resume nor --fresh is an error');
  t.match(again.stderr, /already holds a run .*pass --resume .*--fresh/);
  t.match(again.stderr, /specfuse train --model infn --data CUBE/, "with the INFN help, not the main trainer's");
  const changed = cliSync(...args(out, stopped + 4), '--resume', '--lr', '1e-3');
  t.equal(changed.status, 1, '--resume with another --lr is refused');
  t.match(changed.stderr, /trained with other options \(.*lr/);
  const resumed = cliSync(...args(out, stopped + 4), '--resume');
  t.equal(resumed.status, 0, `--resume: exit 0 ${resumed.status ? resumed.stderr.slice(-500) : ''}`);
  t.ok(existsSync(join(out, 'final.safetensors')) && existsSync(join(out, 'metrics.json')), 'the resumed run ends with final.safetensors and metrics.json');
  t.notOk(existsSync(join(out, 'aborted.safetensors')), 'and the superseded aborted.safetensors is gone');
  const ref = join(tmp, 'signal-ref');
  t.equal(cliSync(...args(ref, stopped + 4)).status, 0);
  t.same(readFileSync(join(out, 'final.safetensors')), readFileSync(join(ref, 'final.safetensors')), 'resumed weights byte-identical to an uninterrupted run');

  const nothing = cliSync(...args(join(tmp, 'empty'), 3), '--resume');
  t.equal(nothing.status, 2);
  t.match(nothing.stderr, /--resume: nothing to resume from/);
  const fresh = cliSync(...args(out, 2), '--fresh');
  t.equal(fresh.status, 0, `--fresh: exit 0 ${fresh.status ? fresh.stderr.slice(-500) : ''}`);
  t.match(fresh.stdout, /done after 2 steps/, '--fresh starts over');
});
