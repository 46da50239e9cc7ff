/**
 * Parameter selection by dotted names and globs, timm-style:
 *   'sspen'            the module sspen and everything under it
 *   'adapters.*.cti'   '*' matches one name segment
 *   'vit.**.norm1'     '**' matches any number of segments
 *   'tail2.net.0.weight' one parameter
 */
export function compilePattern(pattern: string): (name: string) => boolean {
  if (typeof pattern !== 'string' || pattern.length === 0) throw new TypeError('pattern: expected a non-empty string');
  if (!/[*?]/.test(pattern)) return (name) => name === pattern || name.startsWith(pattern + '.');
  const re = pattern
    .split('.')
    .map((seg) =>
      seg === '**'
        ? '(?:[^.]+(?:\\.[^.]+)*)'
        : seg
            .replace(/[|\\{}()[\]^$+.]/g, '\\$&')
            .replace(/\*/g, '[^.]*')
            .replace(/\?/g, '[^.]'),
    )
    .join('\\.');
  const full = new RegExp(`^${re}(?:\\..+)?$`);
  return (name) => full.test(name);
}

/** Names matched by any pattern; a pattern matching nothing is an error (it is almost always a typo). */
export function selectNames(names: readonly string[], patterns: string | readonly string[]): string[] {
  const list = typeof patterns === 'string' ? [patterns] : patterns;
  if (!Array.isArray(list)) throw new TypeError('patterns: expected a string or an array of strings');
  const picked = new Set<string>();
  for (const p of list) {
    const match = compilePattern(p);
    let hit = false;
    for (const n of names)
      if (match(n)) {
        picked.add(n);
        hit = true;
      }
    if (!hit) throw new RangeError(`pattern '${p}' matches no parameter`);
  }
  return names.filter((n) => picked.has(n));
}
