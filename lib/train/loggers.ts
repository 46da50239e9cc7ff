/**
 * Training loggers: one interface, three formats. Every logger receives the same records (a step,
 * a flat set of named numbers such as 'train.loss', 'lr', 'grad_norm', 'valid.SAM') and may also
 * receive images (a preview of validation tiles, as PNG); each writes as the records come, so a run
 * killed midway leaves a readable log.
 *
 *  - JSONL: one object per record ({time, event: 'step' | 'valid', step, ...values}), plus the
 *    run's other events (resume, checkpoint, end).
 *  - CSV: one row per step, one column per name seen so far (the header grows by rewriting the
 *    file when a new name appears, e.g. at the first validation).
 *  - TensorBoard: an event file (tfevents.ts) that TensorBoard itself reads: scalars and images.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic.js';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileVersionEvent, sessionStartEvent, summaryEvent, tfRecord, type SummaryValue } from './tfevents.js';

export interface LogImage {
  width: number;
  height: number;
  png: Uint8Array;
}

export interface Logger {
  /** Named numbers at a step ('train.loss', 'lr', 'valid.SAM', ...); `phase` says which event they belong to. */
  scalars(step: number, values: Record<string, number>, phase: 'step' | 'valid'): void;
  /** An RGBA PNG at a step. */
  image?(step: number, tag: string, image: LogImage): void;
  /** Anything else worth a line (resume, checkpoint, end); only text logs keep it. */
  event?(name: string, fields: Record<string, unknown>): void;
  /**
   * The run resumes from a checkpoint at `step`: keep what the log holds up to it and drop the
   * records of later steps, which are about to be redone (else they would appear twice).
   */
  resumeAt?(step: number): void;
  close?(): void;
}

export type LoggerKind = 'tensorboard' | 'csv' | 'jsonl';
export const LOGGER_KINDS: readonly LoggerKind[] = ['tensorboard', 'csv', 'jsonl'];

export class JsonlLogger implements Logger {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }
  #line(obj: Record<string, unknown>) {
    appendFileSync(this.file, JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
  }
  scalars(step: number, values: Record<string, number>, phase: 'step' | 'valid'): void {
    this.#line({ event: phase, step, ...values });
  }
  event(name: string, fields: Record<string, unknown>): void {
    this.#line({ event: name, ...fields });
  }
}

export class CsvLogger implements Logger {
  #columns: string[] = ['step'];
  #rows: Array<Record<string, number>> = [];
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }
  /** Reads back the rows this file holds (a resumed run continues it) up to `step`, and rewrites it. */
  resumeAt(step: number): void {
    if (!existsSync(this.file)) return;
    const lines = readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    if (lines.length === 0) return;
    const columns = parseCsvLine(lines[0]!);
    const rows: Array<Record<string, number>> = [];
    for (const line of lines.slice(1)) {
      const fields = line.split(',');
      if (fields.length !== columns.length) continue; // a row cut short by a crash
      const row: Record<string, number> = {};
      columns.forEach((c, i) => {
        if (fields[i] !== '') row[c] = Number(fields[i]);
      });
      if (Number.isFinite(row.step) && row.step! <= step) rows.push(row);
    }
    this.#columns = columns;
    this.#rows = rows;
    writeFileAtomic(this.file, this.#columns.map(csvField).join(',') + '\n' + this.#rows.map((r) => this.#format(r)).join(''));
  }
  scalars(step: number, values: Record<string, number>): void {
    const fresh = Object.keys(values).filter((k) => !this.#columns.includes(k));
    this.#columns.push(...fresh);
    const last = this.#rows.at(-1);
    // one row per step: a validation at a step fills its columns in that step's row (a rewrite,
    // as is a new column; validations are rare next to steps, which append)
    if (last?.step === step || fresh.length) {
      if (last?.step === step) Object.assign(last, values);
      else this.#rows.push({ step, ...values });
      // a rewrite replaces the file whole (atomic), never leaves it half-written
      writeFileAtomic(this.file, this.#columns.map(csvField).join(',') + '\n' + this.#rows.map((r) => this.#format(r)).join(''));
    } else {
      const row = { step, ...values };
      this.#rows.push(row);
      appendFileSync(this.file, this.#format(row));
    }
  }
  #format(r: Record<string, number>): string {
    return this.#columns.map((c) => (r[c] === undefined ? '' : String(r[c]))).join(',') + '\n';
  }
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Splits one CSV header line (fields quoted as csvField writes them). */
function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= line.length;) {
    if (line[i] === '"') {
      let v = '';
      for (i++; i < line.length; i++) {
        if (line[i] === '"' && line[i + 1] === '"') {
          v += '"';
          i++;
        } else if (line[i] === '"') {
          i++;
          break;
        } else v += line[i];
      }
      out.push(v);
      i++; // the comma
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

export class TensorBoardLogger implements Logger {
  readonly file: string;
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    // TensorBoard finds event files by this name pattern; a second logger of this process within the
    // same second (a resume) gets a suffix rather than overwriting the first one's file
    const base = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}`);
    let file = base;
    for (let n = 1; existsSync(file); n++) file = `${base}.${n}`;
    this.file = file;
    writeFileSync(this.file, tfRecord(fileVersionEvent()), { flag: 'wx' });
  }
  /** The steps after `step` are redone: TensorBoard drops what the earlier files hold for them. */
  resumeAt(step: number): void {
    appendFileSync(this.file, tfRecord(sessionStartEvent(step + 1)));
  }
  scalars(step: number, values: Record<string, number>): void {
    const vs: SummaryValue[] = Object.entries(values)
      .filter(([, v]) => Number.isFinite(v))
      .map(([tag, scalar]) => ({ tag, scalar }));
    if (vs.length) appendFileSync(this.file, tfRecord(summaryEvent(step, vs)));
  }
  image(step: number, tag: string, image: LogImage): void {
    appendFileSync(this.file, tfRecord(summaryEvent(step, [{ tag, image: { ...image, channels: 4 } }])));
  }
}

/** Parses '--log tensorboard,csv,jsonl' style lists. */
export function parseLoggerKinds(spec: string): LoggerKind[] {
  const kinds = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const k of kinds) if (!LOGGER_KINDS.includes(k as LoggerKind)) throw new RangeError(`log: expected a list of ${LOGGER_KINDS.join(', ')}, got '${k}'`);
  return [...new Set(kinds)] as LoggerKind[];
}

/** The loggers of a run folder: tensorboard/ (event file), metrics.csv, train.jsonl. */
export function createLoggers(dir: string, kinds: readonly LoggerKind[]): Logger[] {
  return kinds.map((k) =>
    k === 'tensorboard'
      ? new TensorBoardLogger(join(dir, 'tensorboard'))
      : k === 'csv'
        ? new CsvLogger(join(dir, 'metrics.csv'))
        : new JsonlLogger(join(dir, 'train.jsonl')),
  );
}
