/**
 * COPY ... FROM STDIN in PostgreSQL's text format, for staging rows (pg-copy-streams):
 * a builder that turns rows into text a chunk at a time, and the call that streams the
 * chunks to the server.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { Driver } from './driver.js';

const SPECIAL = /[\\\t\n\r]/;

/** One field of a row in COPY's text format: NULL as \N, the four special characters escaped. */
export function copyField(v: string | number | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v !== 'string') return String(v);
  return SPECIAL.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

/** Rows in COPY text format, kept as chunks of about CHUNK characters. */
export class CopyText {
  private readonly chunks: string[] = [];
  private current = '';
  rows = 0;
  private static readonly CHUNK = 1 << 20;

  row(...fields: Array<string | number | boolean | null>): void {
    let line = copyField(fields[0]!);
    for (let i = 1; i < fields.length; i++) line += '\t' + copyField(fields[i]!);
    this.current += line + '\n';
    this.rows++;
    if (this.current.length >= CopyText.CHUNK) {
      this.chunks.push(this.current);
      this.current = '';
    }
  }

  /** The text so far, as chunks; the builder starts empty again. */
  take(): string[] {
    if (this.current.length > 0) this.chunks.push(this.current);
    const out = this.chunks.splice(0);
    this.current = '';
    this.rows = 0;
    return out;
  }
}

/** Stream `chunks` into `table` (COPY FROM STDIN) on connection `c`. */
export async function copyInto(driver: Driver, c: pg.ClientBase, table: string, columns: readonly string[], chunks: readonly string[]): Promise<void> {
  if (chunks.length === 0) return;
  const stream = c.query(driver.copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(chunks), stream);
}
