// PanAdapter "done" criteria, pretrained weights (reference §6): synthetic checkpoints with exactly the
// key names and shapes of IPT_pretrain.pt (381 tensors, full width 576, 12 + 12 layers, 6 task
// heads/tails) and edsr_baseline_x2 (76 tensors), written by the pinned PyTorch with torch.save in
// the zip and the legacy format, plain and wrapped as {'state_dict': sd}
// (fixtures/make_pretrained.py), loaded with loadPanAdapterPretrained into a full WV3 PanAdapter:
//  - IPT: exactly its 297 body.* tensors land in vit.* (embeddings included), the 84 others are
//    reported as ignored, nothing is unexpected;
//  - EDSR: body.0-15 into both EDSR bodies (64 tensors each), body.16 into both single_layers; mean
//    shifts, head and tail ignored;
//  - values land bit-exact (compared with tensors Python wrote to safetensors);
//  - a width-512 IPT fails with a WeightsError listing the shape mismatches and changes nothing.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createModel,
  fromHost,
  loadPanAdapterPretrained,
  loadWeights,
  WeightsError,
  zeros,
  type LoadReport,
  type Module,
  type Tensor,
} from '../../lib/index.js';
import { readSafetensors } from '../../lib/checkpoint-formats/index.js';
import type { HostArray } from '../../lib/host.js';
import { PYTHON } from '../helpers/locations.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const GENERATOR = join(HERE, 'fixtures', 'make_pretrained.py');

function pythonUnavailable(): string | false {
  if (!existsSync(PYTHON)) return `no Python at ${PYTHON} (set SPECFUSE_PYTHON)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, safetensors'], { encoding: 'utf8' });
  return r.status === 0 ? false : `Python lacks torch / safetensors: ${r.stderr.trim().split('\n').pop()}`;
}

function runPython(args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn(PYTHON, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => {
      err += String(c);
    });
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`python ${args.join(' ')} failed (${code}):\n${err}`))));
  });
}

interface Manifest {
  ipt: { keys: string[]; body: string[]; params: number; body_params: number };
  ipt512: { keys: string[] };
  edsr: { keys: string[]; params: number };
}

const sorted = (xs: Iterable<string>) => [...xs].sort();
const EDSRS = ['spe_edsr', 'spa_edsr'];

/** Where the IPT mapping must put a body key (reference §6.3). */
const iptTarget = (k: string) =>
  'vit.' +
  k
    .slice(5)
    .replace(/^query_embed\./, '_query_embed.')
    .replace(/^position_encoding\./, '_position_encoding.');

/** The EDSR module names a checkpoint key must be written to. */
function edsrTargets(k: string): string[] {
  const m = k.match(/^body\.(\d+)\.(.*)$/)!;
  return EDSRS.map((e) => (m[1] === '16' ? `sspen.${e}.single_layer.${m[2]}` : `sspen.${e}.body.${m[1]}.${m[2]}`));
}

t.test('IPT and EDSR checkpoints into a full WV3 PanAdapter', { skip: pythonUnavailable() }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-pretrained-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const t0 = Date.now();
  await runPython([GENERATOR, dir]);
  t.comment(`python checkpoints: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const samples = readSafetensors(readFileSync(join(dir, 'samples.safetensors'))).tensors;
  const file = (name: string) => join(dir, name);

  t.test('the synthetic files follow §6.1 / §6.2', async (t) => {
    t.equal(manifest.ipt.keys.length, 381, 'IPT: 381 tensors');
    t.equal(manifest.ipt.body.length, 297, 'IPT: 297 body.* tensors');
    t.equal(manifest.ipt.params, 118_892_394, 'IPT: 118,892,394 parameters');
    t.equal(manifest.ipt.body_params, 115_636_608, 'IPT body: 115,636,608 parameters');
    t.equal(manifest.edsr.keys.length, 76, 'EDSR: 76 tensors');
    t.equal(manifest.edsr.params, 1_369_883, 'EDSR: 1,369,883 parameters');
  });

  using m: Module = createModel({ model: 'panadapter', preset: 'wv3' });
  const all = [...m.namedParameters(), ...m.namedBuffers()].map((p) => p.name);
  const vitNames = all.filter((n) => n.startsWith('vit.'));
  t.equal(all.length, 819, 'the model has 819 state-dict tensors');
  t.equal(vitNames.length, 297, 'and 297 under vit.');

  const iptIgnored = sorted(manifest.ipt.keys.filter((k) => !k.startsWith('body.')));
  const iptSamples = [...samples.keys()].filter((k) => k.startsWith('ipt/')).map((k) => k.slice(4));
  const edsrSamples = [...samples.keys()].filter((k) => k.startsWith('edsr/')).map((k) => k.slice(5));

  /** Module tensor `name` equals the HostArray Python wrote, bit for bit. */
  const landed = (name: string, want: HostArray): boolean => {
    using w = fromHost(want);
    using got = m.getTensor(name);
    return got.dtype === w.dtype && got.equal(w);
  };
  /** Overwrites the listed module tensors with zeros (so a later load must write them again). */
  const zeroOut = (names: string[]) => {
    const z: Record<string, Tensor> = {};
    for (const n of names) {
      const d = m.namedParameters().find((p) => p.name === n) ?? m.namedBuffers().find((p) => p.name === n)!;
      z[n] = zeros(d.shape, d.dtype);
    }
    m.loadTensors(z);
    for (const v of Object.values(z)) v.dispose();
  };

  const checkIpt = (t: Test, r: LoadReport | undefined) => {
    if (!r) {
      t.fail('no IPT report');
      return;
    }
    t.equal(r.loaded.length, 297, 'loaded exactly 297 tensors');
    t.same(sorted(r.loaded), sorted(vitNames), 'into every vit.* tensor (embeddings and position_ids included)');
    t.same(sorted(r.loaded), sorted(manifest.ipt.body.map(iptTarget)), 'each from its body.* key');
    t.equal(r.ignored.length, 84, '84 keys ignored');
    t.same(sorted(r.ignored), iptIgnored, 'ignored = the mean shifts, 6 task heads and 6 tails');
    t.same(r.unexpected, [], 'nothing unexpected');
    t.same(r.shapeMismatch, [], 'no shape mismatch');
    t.same(sorted(r.missing), sorted(all.filter((n) => !n.startsWith('vit.'))), 'everything outside vit.* left as it was');
    const wrong = iptSamples.filter((k) => !landed(iptTarget(k), samples.get(`ipt/${k}`)!));
    t.same(wrong, [], `values landed bit-exact (${iptSamples.join(', ')})`);
  };

  const edsrLoaded = sorted(manifest.edsr.keys.filter((k) => k.startsWith('body.')).flatMap(edsrTargets));
  const checkEdsr = (t: Test, r: LoadReport | undefined) => {
    if (!r) {
      t.fail('no EDSR report');
      return;
    }
    t.equal(r.loaded.length, 132, '132 writes: 2 x 64 body tensors + 2 x 2 single_layer tensors');
    t.same(sorted(r.loaded), edsrLoaded, 'body.0-15 into both EDSR bodies, body.16 into both single_layers');
    for (const e of EDSRS) {
      t.equal(r.loaded.filter((n) => n.startsWith(`sspen.${e}.body.`)).length, 64, `${e}: 64 body tensors`);
      t.same(
        sorted(r.loaded.filter((n) => n.startsWith(`sspen.${e}.single_layer.`))),
        [`sspen.${e}.single_layer.bias`, `sspen.${e}.single_layer.weight`],
        `${e}: single_layer`,
      );
    }
    t.same(
      sorted(r.ignored),
      sorted([
        'sub_mean.weight',
        'sub_mean.bias',
        'add_mean.weight',
        'add_mean.bias',
        'head.0.weight',
        'head.0.bias',
        'tail.0.0.weight',
        'tail.0.0.bias',
        'tail.1.weight',
        'tail.1.bias',
      ]),
      'ignored = sub_mean, add_mean, head, tail',
    );
    t.same(r.unexpected, [], 'nothing unexpected');
    t.same(r.shapeMismatch, [], 'no shape mismatch');
    t.ok(
      r.missing.some((n) => n.startsWith('sspen.spe_edsr.head.')),
      'the MS-encoder heads stay as they were',
    );
    const wrong: string[] = [];
    for (const k of edsrSamples) for (const n of edsrTargets(k)) if (!landed(n, samples.get(`edsr/${k}`)!)) wrong.push(n);
    t.same(wrong, [], `values landed bit-exact in both EDSRs (${edsrSamples.join(', ')})`);
  };

  // tensors outside the loads' targets, which must never change
  const bystanders = [
    'head.1.weight',
    'head_down.weight',
    'sspen.spe_edsr.head.head.0.weight',
    'sspen.spa_lpes.3.dw.weight',
    'adapters.5.cti.fus.weight',
    'tail2.net.0.weight',
    'a_proj.weight',
  ];
  const before: Record<string, Tensor> = {};
  for (const n of bystanders) before[n] = m.getTensor(n);
  t.teardown(() => {
    for (const v of Object.values(before)) v.dispose();
  });
  const bystandersIntact = () =>
    bystanders.filter((n) => {
      using now = m.getTensor(n);
      return !now.equal(before[n]!);
    });

  await t.test('IPT, zip format, plain state dict', async (t) => {
    zeroOut(iptSamples.map(iptTarget)); // position_ids included: the file's must be written
    const t1 = Date.now();
    const r = await loadPanAdapterPretrained(m, { ipt: file('ipt.zip.pt') });
    t.comment(`loaded in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    t.same(Object.keys(r), ['ipt'], 'only an IPT report');
    checkIpt(t, r.ipt);
    t.same(bystandersIntact(), [], 'no tensor outside vit.* changed');
  });

  await t.test('EDSR, zip and legacy formats, plain and wrapped', async (t) => {
    for (const name of ['edsr.zip.pt', 'edsr.legacy.pt', 'edsr.zip-wrapped.pt', 'edsr.legacy-wrapped.pt']) {
      await t.test(name, async (t) => {
        zeroOut(edsrSamples.flatMap(edsrTargets));
        const r = await loadPanAdapterPretrained(m, { edsr: file(name) });
        t.same(Object.keys(r), ['edsr'], 'only an EDSR report');
        checkEdsr(t, r.edsr);
      });
    }
    t.same(bystandersIntact(), [], 'no tensor outside the EDSR bodies / single_layers changed');
    const stillIpt = iptSamples.filter((k) => !landed(iptTarget(k), samples.get(`ipt/${k}`)!));
    t.same(stillIpt, [], 'the IPT weights are still in place');
  });

  await t.test('IPT legacy format wrapped as {state_dict} together with EDSR', async (t) => {
    zeroOut([...iptSamples.map(iptTarget), ...edsrSamples.flatMap(edsrTargets)]);
    const t1 = Date.now();
    const r = await loadPanAdapterPretrained(m, { ipt: file('ipt.legacy-wrapped.pt'), edsr: file('edsr.legacy-wrapped.pt') });
    t.comment(`loaded in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    checkIpt(t, r.ipt);
    checkEdsr(t, r.edsr);
    t.same(bystandersIntact(), [], 'no other tensor changed');
  });

  await t.test('both files through loadWeights: the PanAdapter dialect recognises IPT and EDSR', async (t) => {
    zeroOut([...iptSamples.map(iptTarget), ...edsrSamples.flatMap(edsrTargets)]);
    const r = await loadWeights(m, [file('ipt.zip.pt'), file('edsr.zip.pt')]);
    const wrong = [
      ...iptSamples.filter((k) => !landed(iptTarget(k), samples.get(`ipt/${k}`)!)),
      ...edsrSamples.flatMap((k) => edsrTargets(k).filter((n) => !landed(n, samples.get(`edsr/${k}`)!))),
    ];
    t.same(wrong, [], 'IPT and EDSR values landed bit-exact');
    t.same(
      r.missing.filter((n) => n.startsWith('vit.') || /^sspen\.sp[ae]_edsr\.(body|single_layer)\./.test(n)),
      [],
      'nothing either file covers is missing',
    );
    t.ok(r.missing.includes('head.1.weight') && r.ignored.length > 0, 'what neither covers stays; heads, tails and mean shifts are ignored');
    t.same(bystandersIntact(), [], 'no other tensor changed');
  });

  await t.test('a width-512 IPT fails with the shape mismatches and changes nothing', async (t) => {
    t.equal(manifest.ipt512.keys.length, 381, 'same 381 names');
    const snapshot = m.stateDict();
    let err: unknown;
    try {
      await loadPanAdapterPretrained(m, { ipt: file('ipt512.legacy.pt') });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof WeightsError, 'WeightsError');
    const e = err as WeightsError;
    const mm = e.report.shapeMismatch;
    t.equal(mm.length, 296, '296 mismatches (every body tensor but position_ids)');
    t.same(sorted(mm.map((x) => x.name)), sorted(vitNames.filter((n) => n !== 'vit._position_encoding.position_ids')), 'named by module tensor');
    t.ok(
      mm.every((x) => x.name === iptTarget(x.source)),
      'each with its checkpoint key',
    );
    const q = mm.find((x) => x.source === 'body.query_embed.weight')!;
    t.same(
      [q.got, q.expected],
      [
        [6, 256 * 512],
        [6, 256 * 576],
      ],
      'query_embed: got [6, 131072], expected [6, 147456]',
    );
    const enc = mm.find((x) => x.source === 'body.encoder.layers.0.self_attn.in_proj_weight')!;
    t.same(
      [enc.got, enc.expected],
      [
        [1536, 512],
        [1728, 576],
      ],
      'in_proj_weight: got [1536, 512], expected [1728, 576]',
    );
    t.same(e.report.unexpected, [], 'nothing unexpected');
    t.match(e.message, /shape mismatch 296: /, 'the message counts the mismatches');
    t.match(e.message, /body\.\S+ \[[\d, ]+\] -> vit\.\S+ \[[\d, ]+\]/, 'and lists them');
    const changed: string[] = [];
    for (const [n, v] of Object.entries(snapshot)) {
      using now = m.getTensor(n);
      if (!now.equal(v)) changed.push(n);
      v.dispose();
    }
    t.same(changed, [], 'all 819 tensors unchanged (position_ids too, though its shape fits)');
  });
});
