/**
 * Where tests find what is not in the repository, one way for every test: the shared real data
 * and weights (../shared/data beside the checkout, or $SPECFUSE_SHARED_DATA) and the Python used as
 * an oracle (.venv/bin/python, or $SPECFUSE_PYTHON). Never an absolute path.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The shared data folder (pansharpening/, weights/, mhif/ ...). */
export const SHARED_DATA = process.env.SPECFUSE_SHARED_DATA ?? resolve(REPO, '../shared/data');

/** A path inside the shared data folder. */
export const sharedData = (...parts: string[]): string => join(SHARED_DATA, ...parts);

/** The Python of the oracles (torch, numpy, scipy ...). */
export const PYTHON = process.env.SPECFUSE_PYTHON ?? join(REPO, '.venv/bin/python');
