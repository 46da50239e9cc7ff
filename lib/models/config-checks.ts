/**
 * Config handling at the edge. One authority per fact: TypeScript owns the key list of each model
 * (checkKeys) and its typed presets; the C++ option parser (native/models/*_options, reached through
 * the registry's resolveModelConfig) owns every type, range and cross-key rule, so a limit is written
 * once. test/models/config-parity.test.ts holds the two sides together.
 */
import { native, type ConfigValue } from '../native.js';

export function checkKeys(config: object, allowed: readonly string[]): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new TypeError('config: expected an object');
  for (const k of Object.keys(config)) {
    if (!allowed.includes(k)) throw new RangeError(`config.${k}: unknown option (known: ${allowed.join(', ')})`);
  }
}

export function oneOf<T extends string>(config: object, key: string, values: readonly T[], fallback: T): T {
  const v = (config as Record<string, unknown>)[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new TypeError(`config.${key}: expected one of ${values.join(', ')}`);
  if (!values.includes(v as T)) throw new RangeError(`config.${key}: expected one of ${values.join(', ')}, got '${v}'`);
  return v as T;
}

/** The preset's options with every key the config gives (undefined = not given; `model`, `preset` left out). */
export function overPreset<T extends object>(base: T, config: object): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(config)) if (k !== 'model' && k !== 'preset' && v !== undefined) out[k] = v;
  return out as T;
}

/**
 * Has the model's C++ option parser check the flat options: TypeError / RangeError naming the key
 * for a wrong type, an out-of-range value or a broken cross-key rule. Nothing is built.
 */
export function checkWithNative(model: string, options: Record<string, ConfigValue>): void {
  native.resolveModelConfig(model, options);
}
