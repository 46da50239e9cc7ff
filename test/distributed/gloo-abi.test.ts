// Our own declarations of gloo's API (native/dist/gloo_api) stand in for gloo's headers, which the
// torch wheel does not ship. They are only safe while the addon uses gloo's types through pointers:
// it must neither define nor reference any symbol of namespace gloo (no gloo vtable, typeinfo or
// function of ours can then disagree with libtorch's). The layout side is checked by
// collectives.test.ts, which reads ProcessGroupGloo's options back through our view of the class.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { addonCandidates } from '../../lib/native.js';

const addon = process.env.SPECFUSE_ADDON ?? addonCandidates.find((c) => existsSync(c.path))?.path;

t.test('the addon holds no gloo symbol, defined or undefined', { skip: addon ? false : 'no addon built' }, async (t) => {
  const symbols = execFileSync('nm', ['-C', addon!], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n');
  t.ok(
    symbols.some((l) => /c10d::ProcessGroupGloo::ProcessGroupGloo\(/.test(l)),
    'the addon does use ProcessGroupGloo (from libtorch_cpu.so)',
  );
  const gloo = symbols.filter((l) => /(^|[\s(<,])(::)?gloo::/.test(l));
  t.same(gloo, [], 'no symbol in namespace gloo');
  t.same(
    symbols.filter((l) => /GlooStore/.test(l)),
    [],
    'no GlooStore code (it derives from our declaration of gloo::rendezvous::Store)',
  );
});
