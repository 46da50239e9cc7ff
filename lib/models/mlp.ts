/** A small MLP over input 'x': for checks of the binding itself (threads, async, freezing). */
import { Module, type ModelPlan, type ModelSpec } from '../module.js';
import { checkKeys, positiveInt } from './validate.js';

export interface MlpConfig {
  model: 'mlp';
  inFeatures?: number;
  hidden?: number;
  outFeatures?: number;
  /** hidden layers (default 2) */
  layers?: number;
}

export const mlpSpec: ModelSpec = { family: 'mlp', stages: { 1: ['net'] }, inputs: ['x'] };

export function createMlp(config: MlpConfig): Module { return Module.fromPlan(planMlp(config)); }

export function planMlp(config: MlpConfig): ModelPlan {
  checkKeys(config, ['model', 'inFeatures', 'hidden', 'outFeatures', 'layers']);
  const c = {
    inFeatures: positiveInt(config, 'inFeatures', 8),
    hidden: positiveInt(config, 'hidden', 32),
    outFeatures: positiveInt(config, 'outFeatures', 8),
    layers: positiveInt(config, 'layers', 2, 0),
  };
  return { spec: mlpSpec, nativeName: 'mlp', config: c };
}
