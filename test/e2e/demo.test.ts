/** The README's main command: the demo runs end to end and writes what it promises. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { NativeProvenanceSchema, DafButlerProvenanceSchema } from '../../protocol/index.js';
import { CLI } from './harness.js';
import { sidecarEnv } from '../../src/client/sidecar-env.js';

it('quantum-butler demo runs two quanta, collects them and writes provenance and a report', () => {
  const out = mkdtempSync(join(tmpdir(), 'qb-demo-'));
  try {
    const r = spawnSync(process.execPath, [CLI, 'demo', '--out', out], { encoding: 'utf8', timeout: 60_000, env: sidecarEnv() });
    expect(r.status, r.stderr).toBe(0);
    // The narration is on stdout.
    expect(r.stdout).toMatch(/outputWritten/);
    expect(r.stdout).toMatch(/2 quanta, 7 datasets/);
    expect(r.stdout).toMatch(/demo\.Calibrate/);
    expect(r.stdout).toContain(out);
    const p2 = NativeProvenanceSchema.parse(JSON.parse(readFileSync(join(out, 'quantum2.provenance.json'), 'utf8')));
    expect(p2.actualInputs).toHaveLength(3);
    expect(p2.inputs.find((i) => i.unusedReason)?.unusedReason).toMatch(/quality cut/);
    DafButlerProvenanceSchema.parse(JSON.parse(readFileSync(join(out, 'quantum1.daf_butler.json'), 'utf8')));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<svg/);
    expect(html).toContain('demo.Summarize');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
