/** Config validation at the edge: typed errors naming the option. */
export function checkKeys(config: object, allowed: readonly string[]): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new TypeError('config: expected an object');
  for (const k of Object.keys(config)) {
    if (!allowed.includes(k)) throw new RangeError(`config.${k}: unknown option (known: ${allowed.join(', ')})`);
  }
}

export function positiveInt(config: object, key: string, fallback: number, min = 1, max = 1 << 20): number {
  const v = (config as Record<string, unknown>)[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw new TypeError(`config.${key}: expected an integer`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`config.${key}: expected an integer in [${min}, ${max}], got ${v}`);
  return v;
}

export function oneOf<T extends string>(config: object, key: string, values: readonly T[], fallback: T): T {
  const v = (config as Record<string, unknown>)[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new TypeError(`config.${key}: expected one of ${values.join(', ')}`);
  if (!values.includes(v as T)) throw new RangeError(`config.${key}: expected one of ${values.join(', ')}, got '${v}'`);
  return v as T;
}

export function bool(config: object, key: string, fallback: boolean): boolean {
  const v = (config as Record<string, unknown>)[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`config.${key}: expected a boolean`);
  return v;
}
