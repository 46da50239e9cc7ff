/** A small MLP over input 'x': for checks of the binding itself (threads, async, freezing). */
import { Module, type ModelSpec } from '../module.js';
import { checkKeys, positiveInt } from './config-checks.js';

export interface MlpConfig {
  model: 'mlp';
  inFeatures?: number;
  hidden?: number;
  outFeatures?: number;
  /** hidden layers (default 2) */
  layers?: number;
}

export const mlpSpec: ModelSpec = { family: 'mlp', stages: { 1: ['net'] }, inputs: ['x'] };

export function createMlp(config: MlpConfig): Module {
  checkKeys(config, ['model', 'inFeatures', 'hidden', 'outFeatures', 'layers']);
  const c = {
    inFeatures: positiveInt(config, 'inFeatures', 8),
    hidden: positiveInt(config, 'hidden', 32),
    outFeatures: positiveInt(config, 'outFeatures', 8),
    layers: positiveInt(config, 'layers', 2, 0),
  };
  return new Module(mlpSpec, 'mlp', c);
}
