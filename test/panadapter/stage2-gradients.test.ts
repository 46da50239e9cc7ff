// PanAdapter "done" criteria, gradient flow and freezing (reference §2.6, §3, §7.3), tiny preset on CPU.
// One Trainer step (MSE, Adam lr 1e-3) per case; Module.gradients() reads the .grad it leaves.
//  - stage 2, every adapters.*.cti.scale = 0.5:
//      tailUsesVit false (released): every trainable tensor gets a non-zero gradient except the LAST
//        adapter's cti.* and k_to_vit.* (its injection feeds a ViT output that is discarded);
//      tailUsesVit true: every trainable tensor gets one (the injections reach the loss through the
//        frozen ViT);
//  - stage 1: every SSPEN tensor except both EDSRs' single_layer (output unused), a_proj, b_proj, tail2;
//  - frozen parameters never have a gradient, and after the optimizer step they and every buffer are
//    bit-identical, while every trainable tensor with a gradient has moved (and dead ones have not).
import t, { type Test } from 'tap';
import { createModel, full, manualSeed, rand, Trainer, type Module, type Tensor } from '../../lib/index.js';

interface Case {
  stage: 1 | 2;
  tailUsesVit: boolean;
}

const BATCH = 2;
const LR = 1e-3;
const P = 64; // tiny keeps the 64 x 64 patch: token grid 16 x 16

/** The trainable tensor groups the brief names, by stage; each must be non-empty. */
function groups(stage: 1 | 2, nAdapters: number): Record<string, string> {
  const g: Record<string, string> = { a_proj: 'a_proj.', b_proj: 'b_proj.', tail2: 'tail2.' };
  if (stage === 2) {
    for (let a = 0; a < nAdapters; a++) {
      for (const part of ['ctf_spa', 'ctf_spe', 'cti', 'vit_to_k', 'k_to_vit']) g[`adapters.${a}.${part}`] = `adapters.${a}.${part}.`;
    }
  } else {
    for (const e of ['spe', 'spa']) {
      g[`sspen.${e}_edsr.head`] = `sspen.${e}_edsr.head.`;
      g[`sspen.${e}_edsr.body`] = `sspen.${e}_edsr.body.`;
      g[`sspen.${e}_lpes`] = `sspen.${e}_lpes.`;
      g[`sspen.${e}_proj`] = `sspen.${e}_proj.`;
    }
  }
  return g;
}

async function nonZero(x: Tensor): Promise<boolean> {
  using a = x.abs();
  using s = a.sum();
  return Number(s.item()) > 0;
}

function disposeAll(d: Record<string, Tensor>) {
  for (const v of Object.values(d)) v.dispose();
}

const FROZEN_TOP: Record<1 | 2, string[]> = { 1: ['head', 'head_down', 'vit', 'adapters'], 2: ['head', 'head_down', 'vit', 'sspen'] };

function runCase(c: Case) {
  return async (t: Test) => {
    manualSeed(1234);
    using m: Module = createModel({ model: 'panadapter', preset: 'tiny', tailUsesVit: c.tailUsesVit });
    const nAdapters = Number(m.config.nAdapters);
    const last = nAdapters - 1;
    const bands = Number(m.config.bands);

    // gamma != 0 (the released init is 0, which also kills every injection's cti/k_to_vit path)
    const scales: Record<string, Tensor> = {};
    for (let a = 0; a < nAdapters; a++) scales[`adapters.${a}.cti.scale`] = full([1], 0.5);
    t.equal(m.loadTensors(scales), nAdapters, `every cti.scale = 0.5 (${nAdapters} adapters)`);
    disposeAll(scales);

    m.setStage(c.stage);
    const params = m.namedParameters();
    const trainable = params.filter((p) => p.requiresGrad).map((p) => p.name);
    const frozen = params.filter((p) => !p.requiresGrad).map((p) => p.name);
    const top = (n: string) => n.split('.')[0]!;
    t.same([...new Set(frozen.map(top))].sort(), [...FROZEN_TOP[c.stage]].sort(), `frozen: ${FROZEN_TOP[c.stage].join(', ')}`);

    const g = groups(c.stage, nAdapters);
    for (const [name, prefix] of Object.entries(g)) {
      t.ok(
        trainable.some((n) => n.startsWith(prefix)),
        `${name} is trainable`,
      );
    }
    if (c.stage === 2) {
      t.ok(trainable.includes(`adapters.${last}.cti.scale`) && trainable.includes('adapters.0.cti.scale'), 'cti.scale is trainable');
    }

    const expectedDead =
      c.stage === 1
        ? trainable.filter((n) => /^sspen\.sp[ea]_edsr\.single_layer\./.test(n))
        : c.tailUsesVit
          ? []
          : trainable.filter((n) => n.startsWith(`adapters.${last}.cti.`) || n.startsWith(`adapters.${last}.k_to_vit.`));

    const before = m.stateDict();
    using trainer = new Trainer(m, { optimizer: 'adam', lr: LR, loss: 'mse' });
    t.equal(trainer.trainableTensors, trainable.length, `the optimizer covers the ${trainable.length} trainable tensors`);

    using lms = rand([BATCH, bands, P, P]);
    using pan = rand([BATCH, 1, P, P]);
    using ms = rand([BATCH, bands, P / 4, P / 4]);
    using gt = rand([BATCH, bands, P, P]);
    const r = await trainer.step({ lms, pan, ms }, gt);
    t.ok(Number.isFinite(r.loss) && r.gradNorm > 0 && !r.skipped, `one step: loss ${r.loss.toFixed(4)}, grad norm ${r.gradNorm.toExponential(2)}`);

    const grads = m.gradients();
    const leaked = Object.keys(grads).filter((n) => !trainable.includes(n));
    t.same(leaked, [], 'frozen parameters have no gradient');
    const dead: string[] = [];
    for (const n of trainable) if (!grads[n] || !(await nonZero(grads[n]!))) dead.push(n);
    t.same(
      dead.sort(),
      [...expectedDead].sort(),
      expectedDead.length
        ? `zero gradient exactly on ${expectedDead.length} tensors: ${expectedDead.join(', ')}`
        : 'every trainable tensor has a non-zero gradient',
    );
    for (const [name, prefix] of Object.entries(g)) {
      const members = trainable.filter((n) => n.startsWith(prefix));
      const live = members.filter((n) => !dead.includes(n));
      const wantDead = members.filter((n) => expectedDead.includes(n));
      t.equal(
        live.length,
        members.length - wantDead.length,
        `${name}: ${live.length}/${members.length} tensors with non-zero gradient` + (wantDead.length ? ' (dead by design)' : ''),
      );
    }
    if (c.stage === 2) {
      for (let a = 0; a < nAdapters; a++) {
        const n = `adapters.${a}.cti.scale`;
        t.equal(!dead.includes(n), a !== last || c.tailUsesVit, `${n}: ${dead.includes(n) ? 'zero' : 'non-zero'} gradient`);
      }
      // adapters.0's injection reaches the loss only through the frozen ViT layers that follow it
      t.notOk(dead.includes('adapters.0.k_to_vit.weight'), 'adapters.0.k_to_vit gets gradient through the frozen ViT');
    }
    disposeAll(grads);

    // after the Adam step: frozen tensors and buffers bit-identical; trainable ones with a gradient moved
    const after = m.stateDict();
    const changedFrozen: string[] = [];
    const unchangedLive: string[] = [];
    const changedDead: string[] = [];
    const badUpdate: string[] = [];
    for (const [n, b] of Object.entries(before)) {
      const same = b.equal(after[n]!);
      if (!trainable.includes(n)) {
        if (!same) changedFrozen.push(n);
      } else if (dead.includes(n)) {
        if (!same) changedDead.push(n);
      } else if (same) unchangedLive.push(n);
      if (trainable.includes(n)) {
        // Adam's first step moves each element by lr * |g| / (|g| + eps) <= lr: finite and bounded
        using d = after[n]!.sub(b);
        using a = d.abs();
        using mx = a.max();
        const step = Number(mx.item());
        if (!(step <= LR * 1.0001)) badUpdate.push(`${n} (max |step| ${step})`);
      }
    }
    const nBuffers = m.namedBuffers().length;
    t.same(changedFrozen, [], `${frozen.length} frozen parameters and ${nBuffers} buffers bit-identical after the step`);
    t.same(unchangedLive, [], `${trainable.length - dead.length} trainable tensors with a gradient changed`);
    t.same(changedDead, [], 'zero-gradient tensors unchanged by Adam');
    t.same(badUpdate, [], `every update finite and at most lr = ${LR} per element (Adam, step 1)`);
    disposeAll(before);
    disposeAll(after);

    // the next step clears the previous gradients
    try {
      const r2 = await trainer.step({ lms, pan, ms }, gt);
      t.ok(Number.isFinite(r2.loss) && r2.loss < r.loss, `second step: loss ${r2.loss.toFixed(4)} < ${r.loss.toFixed(4)}`);
    } catch (e) {
      t.fail(`second step failed: ${(e as Error).message}`);
    }
    const g2 = m.gradients();
    t.same(
      Object.keys(g2).filter((n) => !trainable.includes(n)),
      [],
      'still no gradient on frozen tensors',
    );
    disposeAll(g2);
  };
}

t.test('stage 2, tailUsesVit false (released): the last adapter injection path is dead', runCase({ stage: 2, tailUsesVit: false }));
t.test('stage 2, tailUsesVit true: every trainable tensor learns', runCase({ stage: 2, tailUsesVit: true }));
t.test('stage 1: SSPEN, a_proj, b_proj and tail2 learn; ViT, stem and adapters frozen', runCase({ stage: 1, tailUsesVit: false }));

t.test('Module.gradients()', async (t) => {
  using m = createModel({ model: 'mlp', inFeatures: 3, hidden: 4, outFeatures: 2, layers: 1 });
  t.same(Object.keys(m.gradients()), [], 'no gradients before any backward');
  m.freeze('net.0');
  using trainer = new Trainer(m, { optimizer: 'sgd', lr: 0.1 });
  using x = rand([5, 3]);
  using y = rand([5, 2]);
  await trainer.step({ x }, y);
  const g = m.gradients();
  t.same(Object.keys(g), ['net.2.weight', 'net.2.bias'], 'only the trainable parameters');
  t.same(g['net.2.weight']!.shape, [2, 4], 'shaped like the parameter');
  disposeAll(g);
  m.dispose();
  t.throws(() => m.gradients(), /disposed/, 'a disposed module throws');
});
