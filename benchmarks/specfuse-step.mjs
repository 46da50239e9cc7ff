// specfuse's side of a PanAdapter benchmark case as a step closure, shared by panadapter.mjs and
// adaptive-team.mjs: random inputs of the case's batch, a Trainer for training cases (Adam, lr 1e-5)
// or eval mode for inference; step() times one training step (it resolves with the loss value, so
// it is synchronised like loss.item()) or one forward with the result copied out, in seconds.
import { rand, Trainer } from '../dist/index.js';

/** @param c {kind: 'train'|'infer', stage?: 1|2, batch, precision: 'fp32'|'bf16'} */
export function specfuseStep(model, c, device = 'cpu') {
  const bands = model.config.bands;
  const lms = rand([c.batch, bands, 64, 64], 'float32', device),
    pan = rand([c.batch, 1, 64, 64], 'float32', device);
  const ms = rand([c.batch, bands, 16, 16], 'float32', device),
    gt = rand([c.batch, bands, 64, 64], 'float32', device);
  const autocast = c.precision === 'bf16' ? 'bf16' : undefined;
  let tr = null;
  if (c.kind === 'train') {
    model.setStage(c.stage);
    tr = new Trainer(model, { lr: 1e-5, autocast: autocast ?? 'none', stage: c.stage });
  } else model.eval();
  const step = async () => {
    const t0 = performance.now();
    if (tr) await tr.step({ lms, pan, ms }, gt);
    else {
      const out = await model.forward({ lms, pan, ms }, { stage: 2, autocast });
      await out.data();
      out.dispose();
    }
    return (performance.now() - t0) / 1000;
  };
  const dispose = () => {
    tr?.dispose();
    for (const t of [lms, pan, ms, gt]) t.dispose();
  };
  return { step, dispose };
}
