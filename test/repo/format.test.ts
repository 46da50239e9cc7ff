/**
 * The formatters' configurations (.prettierrc.json, .clang-format) were applied to the whole tree
 * once (`npm run format`); this keeps it that way. prettier is a devDependency, so the TypeScript
 * check always runs; clang-format is not an npm package and is checked where it is installed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { REPO } from '../helpers/locations.js';

const PATTERNS = ['lib/**/*.ts', 'test/**/*.ts', 'scripts/**/*.mjs', 'bin/**/*.js', 'benchmarks/**/*.mjs'];

t.test('prettier: every TypeScript/JavaScript source is formatted', async (t) => {
  const bin = join(REPO, 'node_modules/.bin/prettier');
  const r = spawnSync(bin, ['--list-different', ...PATTERNS], { cwd: REPO, encoding: 'utf8' });
  t.equal(r.error, undefined, 'prettier runs');
  const unformatted = r.stdout.split('\n').filter(Boolean);
  t.same(unformatted, [], `files not formatted (run 'npm run format'): ${unformatted.join(', ')}`);
});

function nativeSources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'gloo_api' ? [] : nativeSources(p);
    return /\.(cc|h)$/.test(n) ? [p] : [];
  });
}

const hasClangFormat = spawnSync('clang-format', ['--version']).error === undefined;
t.test('clang-format: native sources are formatted', { skip: hasClangFormat ? false : 'clang-format is not installed here' }, async (t) => {
  const files = nativeSources(join(REPO, 'native'));
  const r = spawnSync('clang-format', ['--dry-run', ...files], { cwd: REPO, encoding: 'utf8' });
  const flagged = [...new Set([...r.stderr.matchAll(/^(\S+?):\d+:\d+: (?:warning|error)/gm)].map((m) => relative(REPO, m[1]!)))];
  t.same(flagged, [], `files clang-format would change: ${flagged.join(', ')}`);
});
