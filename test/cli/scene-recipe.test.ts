// The scene recipe's pipeline end to end, in a few steps: `specfuse train --model fusionnet --scene`
// on the real IKONOS scene starting from the DLPan QB checkpoint (--init reads the .pth with the
// DLPan loader), flips, AdamW, cosine, clipping, 80×80 held-out tiles; heldout.json must hold the
// model and every classical method, without a border cut and with the 21-pixel cut.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA, dataUnavailable } from '../protocol/helpers.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const cli = join(root, 'bin', 'specfuse.js');
const qb = join(DATA, '..', 'weights', 'dlpan', 'QB', 'fusionnet.pth');
const skip = dataUnavailable('ikonos_vitale.mat') || (existsSync(qb) ? false : 'DLPan QB weights not present');

t.test('fusionnet on the IKONOS scene from the QB checkpoint: held-out report against every classical method', { skip }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'specfuse-recipe-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const text = execFileSync(
    process.execPath,
    [
      cli,
      'train',
      '--model',
      'fusionnet',
      '--bands',
      '4',
      '--scene',
      join(DATA, 'ikonos_vitale.mat'),
      '--init',
      qb,
      '--patch',
      '64',
      '--stride',
      '64',
      '--held-out-patch',
      '80',
      '--steps',
      '3',
      '--batch-size',
      '2',
      '--lr',
      '1e-4',
      '--optimizer',
      'adamw',
      '--loss',
      'l1',
      '--schedule',
      'cosine',
      '--clip-grad-norm',
      '1',
      '--flips',
      '--out',
      tmp,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.match(text, /init: loaded \d+ tensors/);
  t.match(text, /4 held out/);
  const r = JSON.parse(readFileSync(join(tmp, 'heldout.json'), 'utf8'));
  const methods = ['fusionnet', 'EXP', 'Brovey', 'BT-H', 'GSA', 'MTF-GLP-HPM'];
  t.same(Object.keys(r.methods), methods);
  t.same(Object.keys(r.cut21 ?? {}), methods, 'the 21-pixel cut table too (80×80 tiles)');
  t.equal(r.tiles, 4);
  for (const table of [r.methods, r.cut21]) {
    for (const m of methods) t.ok(table[m].SAM > 0 && table[m].ERGAS > 0 && Number.isFinite(table[m].Q2n), `${m}: finite metrics`);
  }
  t.not(r.cut21.EXP.ERGAS, r.methods.EXP.ERGAS, 'the border cut changes the figures');
});
