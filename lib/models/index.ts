/** The model registry: typed configs in, Modules out. */
import type { Module } from '../module.js';
import { createMlp, type MlpConfig } from './mlp.js';

export type ModelConfig = MlpConfig;

export function createModel(config: ModelConfig): Module {
  if (config === null || typeof config !== 'object') throw new TypeError('config: expected an object with a model name');
  switch (config.model) {
    case 'mlp':
      return createMlp(config);
    default:
      throw new RangeError(`config.model: unknown model '${String((config as { model?: unknown }).model)}' (known: mlp)`);
  }
}

export type { MlpConfig };
