// Done-when (issue 8): a tiny INFN trained on the CPU on patches of the real CAVE "balloons" bands
// 1–20 (400–590 nm; HR-MSI simulated with the Nikon D700 response restricted to them, LR-HSI by a
// 3×3 σ 0.5 Gaussian blur and ×4 decimation) beats bicubic upsampling of the LR-HSI on BOTH PSNR
// and SAM over held-out crops: the right-most 128-pixel strip of the image (four 128×128 crops),
// which no training patch touches (a 4-pixel margin covers the blur's reach).
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, manualSeed, train } from '../../lib/index.js';
import { prepareMhifData } from '../../lib/workflows/hyperspectral-fusion-data.js';
import { evaluateMhif, formatMhifScores } from '../../lib/workflows/hyperspectral-fusion.js';
import { sharedData } from '../helpers/locations.js';

const CAVE = sharedData('mhif', 'cave_balloons');
const skip = existsSync(join(CAVE, 'balloons_ms_20.png')) ? false : `CAVE bands not found in ${CAVE}`;

t.test('tiny INFN on the CAVE bands beats bicubic on PSNR and SAM (held-out crops, ×4)', { skip }, async (t) => {
  const data = await prepareMhifData(CAVE, { ratio: 4, patch: 32, stride: 32, testCrop: 128 });
  t.equal(data.bands, 20);
  t.same(
    data.testWindows,
    [0, 128, 256, 384].map((y) => ({ y, x: 512, height: 128, width: 128 })),
  );
  t.ok(data.trainWindows.length > 200 && data.trainWindows.every((w) => w.x + w.width <= 508), 'training patches stay 4 pixels clear of the held-out strip');
  manualSeed(0);
  // border 'clamp' (LIIF) rather than the JIIF default 'zeros': on 32-pixel patches a quarter of the
  // queries have LR neighbours outside the 8×8 LR patch, whose zero features teach nothing.
  const model = createModel({ model: 'infn', preset: 'tiny', bands: 20, ratio: 4, border: 'clamp' });
  const steps = 1500;
  const r = await train(model, {
    data: data.trainSet!,
    steps,
    batchSize: 8,
    lr: 1e-3,
    loss: 'l1',
    schedule: { kind: 'cosine' },
    seed: 0,
  });
  const s = await evaluateMhif(model, data.image, data.testWindows, { ratio: 4, context: 16 });
  const params = model.parameterCounts().total;
  t.comment(
    `tiny INFN (${params.toLocaleString('en-US')} parameters), ${steps} steps of 8 patches 32×32 (${data.trainSet!.length} patches) in ${r.seconds.toFixed(1)} s`,
  );
  for (const line of formatMhifScores(s).split('\n')) t.comment(line);
  t.ok(s.model.PSNR > s.bicubic.PSNR, `PSNR ${s.model.PSNR.toFixed(3)} > bicubic ${s.bicubic.PSNR.toFixed(3)} dB`);
  t.ok(s.model.SAM < s.bicubic.SAM, `SAM ${s.model.SAM.toFixed(4)} < bicubic ${s.bicubic.SAM.toFixed(4)}°`);
  model.dispose();
});
