// Builds build/Release/specfuse.node with cmake-js against the resolved libtorch and records which
// libtorch it was (build/specfuse-build.json), so that a later load against another one fails clearly.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { projectRoot, resolveLibtorch } from './libtorch.mjs';

/** libtorch's folder as recorded for the addon: relative to the record when both live in the project, so the project can move. */
export function recordedLibtorch(outDir, libtorchDir) {
  const inProject = (p) => {
    const r = relative(projectRoot, p);
    return r !== '' && !r.startsWith('..') && !isAbsolute(r);
  };
  return inProject(libtorchDir) && inProject(outDir) ? relative(outDir, libtorchDir) : libtorchDir;
}

export function writeBuildInfo(outDir, lt, builder) {
  mkdirSync(outDir, { recursive: true });
  const info = { libtorch: recordedLibtorch(outDir, lt.dir), torchVersion: lt.version, source: lt.source, builder, builtAt: new Date().toISOString() };
  writeFileSync(join(outDir, 'specfuse-build.json'), JSON.stringify(info, null, 2) + '\n');
}

export function buildNative(lt = resolveLibtorch()) {
  const require = createRequire(import.meta.url);
  const cmakeJs = join(require.resolve('cmake-js/package.json'), '..', 'bin', 'cmake-js');
  const jobs = String(Math.max(1, Math.min(cpus().length, Number(process.env.SPECFUSE_BUILD_JOBS) || cpus().length)));
  const defines = [`--CDSPECFUSE_LIBTORCH=${lt.dir}`, `--CDSPECFUSE_TORCH_VERSION=${lt.version}`, `--CDSPECFUSE_UNITY_TUS=${jobs}`];
  const cmakeJsRun = (command, extra = []) =>
    execFileSync(process.execPath, [cmakeJs, command, '-O', 'build', ...extra, ...defines], { stdio: 'inherit', cwd: projectRoot });
  // cmake-js's `build` configures only a fresh build folder; configuring every time (a few seconds,
  // nothing recompiled when nothing changed) lets the NCCL plugin's header search
  // (cmake/nccl-plugin.cmake) see CUDA headers installed since, e.g. by `npm run cuda`.
  if (!process.env.SPECFUSE_REBUILD && existsSync(join(projectRoot, 'build', 'CMakeCache.txt'))) cmakeJsRun('configure');
  cmakeJsRun(process.env.SPECFUSE_REBUILD ? 'rebuild' : 'build', ['--parallel', jobs]);
  writeBuildInfo(join(projectRoot, 'build'), lt, 'cmake-js');
}

if (process.argv[1] && process.argv[1].endsWith('build-native.mjs')) {
  try {
    buildNative();
  } catch (err) {
    console.error(`specfuse build failed: ${err.message}`);
    process.exit(1);
  }
}
