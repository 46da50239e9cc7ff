/** A small MLP over input 'x': for checks of the binding itself (threads, async, freezing). */
import { Module, type ModelPlan, type ModelSpec } from '../module.js';
import { checkKeys, checkWithNative, overPreset } from './config-checks.js';

export interface MlpConfig {
  model: 'mlp';
  inFeatures?: number;
  hidden?: number;
  outFeatures?: number;
  /** hidden layers (default 2) */
  layers?: number;
}

export const mlpSpec: ModelSpec = { family: 'mlp', stages: { 1: ['net'] }, inputs: ['x'] };

export type MlpOptions = Required<Omit<MlpConfig, 'model'>>;

/** The C++ defaults, written here as TypeScript's typed view of them (test/models/config-parity.test.ts compares). */
export const MLP_DEFAULTS: Readonly<MlpOptions> = Object.freeze({ inFeatures: 8, hidden: 32, outFeatures: 8, layers: 2 });

/** The defaults with the given keys over them, checked by the C++ parser (every limit lives there). */
export function resolveMlpOptions(config: MlpConfig): MlpOptions {
  checkKeys(config, ['model', ...Object.keys(MLP_DEFAULTS)]);
  const o = overPreset({ ...MLP_DEFAULTS }, config);
  checkWithNative('mlp', o);
  return o;
}

export function createMlp(config: MlpConfig): Module {
  return Module.fromPlan(planMlp(config));
}

export function planMlp(config: MlpConfig): ModelPlan {
  return { spec: mlpSpec, nativeName: 'mlp', config: { ...resolveMlpOptions(config) } };
}
