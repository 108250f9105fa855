import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EDGE_ACTUAL, EDGE_AVAILABLE, EDGE_INIT } from '../../src/repository/bulk-batches.js';
import { SqliteConnection } from '../../src/repository/sqlite/connection.js';
import { EDGES_PER_STATEMENT, QuantumTables } from '../../src/repository/sqlite/quanta.js';

/** Input edges in a quanta batch's layout: id, dataset type, run, data ID JSON, flags. */
function inputEdges(n: number, prefix: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (let i = 0; i < n; i++) out.push(`${prefix}${String(i).padStart(3, '0')}`, `t${i % 3}`, `run/${i % 2}`, JSON.stringify({ visit: i }), i % 8);
  return out;
}

describe('multi-row edge inserts (the bulk writer: one statement for up to EDGES_PER_STATEMENT edges of a quantum)', () => {
  let dir: string;
  let conn: SqliteConnection;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'qb-edge-stmt-'));
    conn = SqliteConnection.open(join(dir, 'registry.sqlite3'));
  });
  afterEach(() => {
    conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('store every edge of a quantum, across statement boundaries, as inserting them one by one does', () => {
    const t = new QuantumTables(conn.db);
    const counts = [0, 1, 3, EDGES_PER_STATEMENT - 1, EDGES_PER_STATEMENT, EDGES_PER_STATEMENT + 1, 2 * EDGES_PER_STATEMENT + 5];
    const quantum = conn.db.prepare<[string]>("INSERT INTO quanta (id, format, provenance) VALUES (?, 'native', '{}')");
    conn.transaction(() => {
      for (const n of counts) {
        quantum.run(`bulk${n}`);
        quantum.run(`single${n}`);
        // Edges of another quantum in the same flat arrays before and after: only [from, from + n) are written.
        const ins = [...inputEdges(2, 'before'), ...inputEdges(n, 'in'), ...inputEdges(2, 'after')];
        const outs: Array<string | number> = ['before', 1];
        for (let i = 0; i < n; i++) outs.push(`out${String(i).padStart(3, '0')}`, i % 2);
        outs.push('after', 1);
        t.insertInputs(`bulk${n}`, ins, 2 * 5, n);
        t.insertOutputs(`bulk${n}`, outs, 2, n);
        // The same edges one statement each.
        for (let e = 2 * 5; e < (2 + n) * 5; e += 5) {
          const f = ins[e + 4] as number;
          t.insertInput(`single${n}`, ins[e] as string, ins[e + 1] as string, ins[e + 2] as string, ins[e + 3] as string, (f & EDGE_INIT) !== 0, true, (f & EDGE_AVAILABLE) !== 0, (f & EDGE_ACTUAL) !== 0);
        }
        for (let e = 2; e < 2 + 2 * n; e += 2) t.insertOutput(`single${n}`, outs[e] as string, true, outs[e + 1] === 1);
      }
      // Already there: nothing changes (ON CONFLICT DO NOTHING, as one by one).
      t.insertInputs('bulk3', inputEdges(3, 'in').map((v, i) => (i % 5 === 4 ? 7 : v)), 0, 3);
    });
    // Every column but the quantum id (the rows are SELECT *: they carry it, though their types do not name it).
    const withoutQuantumId = (row: object) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'quantum_id'));
    const edges = (q: string) => ({
      inputs: t.inputs(q).map(withoutQuantumId),
      outputs: t.outputs(q).map(withoutQuantumId),
    });
    for (const n of counts) {
      const bulk = edges(`bulk${n}`);
      expect(bulk.inputs).toHaveLength(n);
      expect(bulk.outputs).toHaveLength(n);
      expect(bulk).toEqual(edges(`single${n}`));
    }
    expect(t.inputs('bulk3').map((r) => [r.dataset_id, r.init_input, r.available, r.actual])).toEqual([
      ['in000', 0, 0, 0],
      ['in001', 1, 0, 0],
      ['in002', 0, 1, 0],
    ]);
  });
});
