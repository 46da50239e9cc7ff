// CrossDiff end to end on the real IKONOS scene (../shared/data): stage 1 self-supervised on
// full-resolution tiles (no ground truth) with a falling loss; stage 2 on reduced-resolution (Wald)
// tiles beats EXP on SAM and ERGAS over held-out tiles from a part of the scene never trained on,
// with the encoders bit-identical; stage 2 at full resolution with the no-reference loss, reported
// with D_lambda, D_s and HQNR. Tiny preset, CPU.
import t from 'tap';
import { join } from 'node:path';
import { ArrayDataset, createModel, data, fromHost, fullResolutionTiles, manualSeed, reducedResolutionTiles, train } from '../../lib/index.js';
import { heldOutReport } from '../../lib/workflows/scene-training.js';
import { DATA, dataUnavailable } from '../protocol/helpers.js';

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

t.test(
  'IKONOS: stage 1 self-supervised, stage 2 beats EXP on held-out tiles, encoders frozen, FR metrics',
  { skip: dataUnavailable('ikonos_vitale.mat') },
  async (t) => {
    const m = data.openMat(join(DATA, 'ikonos_vitale.mat'));
    const msH = data.permute(m.read('I_MS'), [2, 0, 1]);
    const panH = m.read('I_PAN');
    const ms = fromHost(msH).to('float32'),
      pan = fromHost({ ...panH, shape: [1, ...panH.shape] }).to('float32');
    const fr = await fullResolutionTiles({ ms, pan }, { patch: 64, stride: 64, holdout: 0.25, scale: 2047 });
    const rr = await reducedResolutionTiles({ ms, pan, sensor: 'IKONOS' }, { patch: 32, stride: 16, holdout: 0.25, heldOutPatch: 80, scale: 2047 });
    ms.dispose();
    pan.dispose();
    t.same(fr.train.lms.shape, [300, 4, 64, 64], 'FR training tiles: PAN 64², MS 16², left 3/4 of the scene');
    t.same(rr.train.gt.shape, [266, 4, 32, 32], 'RR training tiles');
    t.same(rr.heldOut!.gt.shape, [4, 4, 80, 80], 'RR held-out tiles: the right quarter, never trained on');

    // featureNoise 'zero' (deterministic features, reference §8 Q3) and a zero last conv (stage 2 starts from EXP);
    // seeded initial weights (train() seeds the draws inside the steps)
    manualSeed(0);
    const model = createModel({ model: 'crossdiff', preset: 'tiny', featureNoise: 'zero', residualInit: 'zero' });
    let started = Date.now();
    const s1 = await train(model, {
      stage: 1,
      data: new ArrayDataset({ lms: fr.train.lms, pan: fr.train.pan }),
      steps: 100,
      batchSize: 8,
      lr: 3e-4,
      optimizer: 'adamw',
      seed: 0,
    });
    const l1 = s1.losses.map((x) => x.loss);
    const first = mean(l1.slice(0, 10)),
      last = mean(l1.slice(-10));
    t.comment(
      `stage 1 (ε-MSE, no ground truth): 100 steps of 8 in ${((Date.now() - started) / 1000).toFixed(1)} s, loss ${first.toFixed(3)} → ${last.toFixed(3)}`,
    );
    t.ok(last < 0.8 * first, 'stage-1 loss falls');

    const encoders = Object.entries(model.stateDict()).filter(([k]) => !k.startsWith('head.'));
    started = Date.now();
    const s2 = await train(model, {
      stage: 2,
      data: new ArrayDataset({ ...rr.train } as never),
      steps: 2000,
      batchSize: 8,
      lr: 2e-3,
      schedule: { kind: 'cosine' },
      loss: 'l1',
      optimizer: 'adamw',
      augment: true,
      clipGradNorm: 0.05,
      seed: 0,
    });
    t.comment(
      `stage 2 (L1, reduced resolution): 2000 steps of 8 in ${((Date.now() - started) / 1000).toFixed(1)} s, loss ${mean(s2.losses.slice(0, 10).map((x) => x.loss)).toFixed(4)} → ${mean(s2.losses.slice(-10).map((x) => x.loss)).toFixed(4)}`,
    );
    let identical = 0;
    for (const [k, before] of encoders) {
      const after = model.getTensor(k);
      if (before.allclose(after, 0, 0)) identical++;
      else t.fail(`${k} changed in stage 2`);
      after.dispose();
      before.dispose();
    }
    t.equal(identical, 104, 'all 104 encoder tensors bit-identical after stage 2');

    const rep = await heldOutReport(model, 2, rr.heldOut!, 'reduced', 'IKONOS', 2047);
    const cd = rep.methods.crossdiff!,
      exp = rep.methods.EXP!;
    for (const k of ['SAM', 'ERGAS', 'Q2n', 'PSNR']) t.comment(`held-out RR ${k}: CrossDiff ${cd[k]!.toFixed(4)}, EXP ${exp[k]!.toFixed(4)}`);
    t.ok(cd.SAM! < exp.SAM!, `SAM ${cd.SAM!.toFixed(3)} < EXP ${exp.SAM!.toFixed(3)}`);
    t.ok(cd.ERGAS! < exp.ERGAS!, `ERGAS ${cd.ERGAS!.toFixed(3)} < EXP ${exp.ERGAS!.toFixed(3)}`);

    // Full resolution: the no-reference loss (no gt anywhere), reported with the toolbox's D_lambda, D_s, HQNR.
    const frModel = createModel({ model: 'crossdiff', preset: 'tiny', featureNoise: 'zero', residualInit: 'zero' });
    frModel.loadTensors(Object.fromEntries(Object.entries(model.stateDict()).filter(([k]) => !k.startsWith('head.'))));
    started = Date.now();
    const s3 = await train(frModel, {
      stage: 2,
      data: new ArrayDataset({ ...fr.train } as never),
      steps: 60,
      batchSize: 4,
      lr: 1e-4,
      loss: 'qnr',
      optimizer: 'adamw',
      seed: 0,
    });
    const l3 = s3.losses.map((x) => x.loss);
    t.comment(
      `stage 2 (no-reference loss, full resolution): 60 steps in ${((Date.now() - started) / 1000).toFixed(1)} s, loss ${mean(l3.slice(0, 10)).toFixed(4)} → ${mean(l3.slice(-10)).toFixed(4)}`,
    );
    t.ok(l3.every(Number.isFinite), 'finite no-reference loss');
    const frRep = await heldOutReport(frModel, 2, fr.heldOut!, 'full', 'IKONOS', 2047);
    for (const [name, v] of Object.entries(frRep.methods)) {
      t.comment(`held-out FR ${name}: D_lambda ${v.D_lambda!.toFixed(4)}, D_s ${v.D_s!.toFixed(4)}, HQNR ${v.HQNR!.toFixed(4)}`);
      for (const k of ['D_lambda', 'D_s', 'HQNR']) t.ok(v[k]! >= 0 && v[k]! <= 1, `${name} ${k} in [0, 1]`);
    }
    model.dispose();
    frModel.dispose();
  },
);
