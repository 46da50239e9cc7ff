/**
 * Parameter groups, as torch.optim's param_groups: trainable tensors picked by glob get their own
 * learning rate and weight decay (a higher rate for a new head than for fine-tuned blocks), and the
 * usual no-decay rule (timm, Lightning recipes) takes weight decay off norms, biases and gates.
 *
 * Globs match dotted parameter names: `*` within one name segment, `**` across segments
 * ('head.**', '**.bias', 'blocks.*.attn.**'). A tensor joins the first group that matches; the rest
 * form the default group (the run's lr and weight decay). With the no-decay rule each group splits
 * in two: the tensors that decay, and those that do not (1-D or 0-D tensors, and names ending in a
 * bias, a norm or a gate), the second with weight decay 0.
 */

export interface ParamGroupSpec {
  /** Glob(s) over parameter names. */
  params: string | readonly string[];
  /** This group's base learning rate (default: the run's). The schedule applies to it. */
  lr?: number;
  /** This group's weight decay (default: the run's). */
  weightDecay?: number;
  /** A name for logs (default 'group<i>'). */
  name?: string;
}

export interface ResolvedGroup {
  name: string;
  /** Parameter names, in the trainer's order. */
  params: string[];
  lr: number;
  weightDecay: number;
}

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^.]*';
    else if (c === '?') re += '[^.]';
    else re += c.replace(/[\\^$.+()[\]{}|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The no-decay rule: biases, norm scales and shifts, gates and every tensor of rank < 2. */
export function isNoDecay(name: string, shape: readonly number[]): boolean {
  if (shape.length < 2) return true;
  const last = name.split('.').at(-1)!.toLowerCase();
  const owner = name.split('.').slice(0, -1).join('.').toLowerCase();
  return last === 'bias' || /gate/.test(last) || /(^|\.)(\w*norm\w*|bn\d*|ln\d*)$/.test(owner);
}

function checkRate(v: number | undefined, what: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`${what}: must be a finite number >= 0`);
}

/**
 * Resolves group specs over the trainable tensors (name and shape, in the trainer's order) into
 * torch-style groups. Empty groups are dropped; a spec that matches nothing is an error (a typo in
 * a glob would otherwise train everything at the default rate without a word).
 */
export function resolveParamGroups(
  params: ReadonlyArray<{ name: string; shape: readonly number[] }>,
  specs: readonly ParamGroupSpec[] | undefined,
  defaults: { lr: number; weightDecay: number; noDecay?: boolean },
): ResolvedGroup[] {
  const list = specs ?? [];
  if (!Array.isArray(list)) throw new TypeError('groups: expected an array of {params, lr?, weightDecay?}');
  const matchers = list.map((s, i) => {
    if (!s || typeof s !== 'object') throw new TypeError(`groups[${i}]: expected {params, lr?, weightDecay?}`);
    const globs = typeof s.params === 'string' ? [s.params] : s.params;
    if (!Array.isArray(globs) || globs.length === 0 || !globs.every((g) => typeof g === 'string' && g.length > 0)) {
      throw new TypeError(`groups[${i}].params: expected a glob or a non-empty list of globs`);
    }
    checkRate(s.lr, `groups[${i}].lr`);
    checkRate(s.weightDecay, `groups[${i}].weightDecay`);
    return globs.map(globToRegExp);
  });
  const base: Array<Omit<ResolvedGroup, 'params'> & { params: string[]; noDecay: string[] }> = [
    ...list.map((s, i) => ({
      name: s.name ?? `group${i}`,
      lr: s.lr ?? defaults.lr,
      weightDecay: s.weightDecay ?? defaults.weightDecay,
      params: [] as string[],
      noDecay: [] as string[],
    })),
    { name: 'default', lr: defaults.lr, weightDecay: defaults.weightDecay, params: [], noDecay: [] },
  ];
  for (const p of params) {
    const i = matchers.findIndex((ms) => ms.some((m) => m.test(p.name)));
    const g = base[i < 0 ? base.length - 1 : i]!;
    (defaults.noDecay && isNoDecay(p.name, p.shape) ? g.noDecay : g.params).push(p.name);
  }
  base.slice(0, -1).forEach((g, i) => {
    if (g.params.length + g.noDecay.length === 0)
      throw new RangeError(`groups[${i}]: '${[list[i]!.params].flat().join("', '")}' matches no trainable parameter`);
  });
  const out: ResolvedGroup[] = [];
  for (const g of base) {
    if (g.params.length) out.push({ name: g.name, params: g.params, lr: g.lr, weightDecay: g.weightDecay });
    if (g.noDecay.length) out.push({ name: `${g.name}.no_decay`, params: g.noDecay, lr: g.lr, weightDecay: 0 });
  }
  return out;
}

/** Parses the CLI's --groups: 'GLOB[,GLOB]:lr=X[:wd=Y];...' or a JSON array of specs. */
export function parseGroupsOption(text: string): ParamGroupSpec[] {
  const s = text.trim();
  if (s.startsWith('[')) return JSON.parse(s) as ParamGroupSpec[];
  return s
    .split(';')
    .filter((x) => x.trim())
    .map((part) => {
      const [globs, ...kvs] = part.trim().split(':');
      const spec: ParamGroupSpec = {
        params: globs!
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean),
      };
      for (const kv of kvs) {
        const [k, v] = kv.split('=');
        const n = Number(v);
        if (v === undefined || v.trim() === '' || !Number.isFinite(n)) throw new RangeError(`groups: '${kv}' in '${part}': expected lr=NUMBER or wd=NUMBER`);
        if (k === 'lr') spec.lr = n;
        else if (k === 'wd' || k === 'weight-decay') spec.weightDecay = n;
        else throw new RangeError(`groups: unknown key '${k}' in '${part}' (expected lr or wd)`);
      }
      return spec;
    });
}
