/**
 * The repository commands over the demo's repository (two quanta: demo.Calibrate reads 4 raw
 * and writes 4 calexp; demo.Summarize uses 3 calexp, rejects detector 4, writes 3 summary),
 * spawning the built CLI: tables, --json, filters, and one-line failures.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeProvenanceSchema, DafButlerProvenanceSchema } from '../../protocol/index.js';
import { pgTestUrl } from '../support/pg-url.js';
import { dropSchemas, uniqueSchema } from '../support/registries.js';
import { cli, expectFailure, expectUsageError } from './run-cli.js';

const pgUrl = pgTestUrl();

let dir: string;
let repo: string;
const ids = (stdout: string) => (JSON.parse(stdout) as Array<{ id: string }>).map((r) => r.id);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qb-cli-'));
  const r = cli(['demo', '--out', join(dir, 'demo')], { timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  repo = join(dir, 'demo', 'repo');
}, 150_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function datasetsJson(...args: string[]): Array<{ id: string; datasetType: string; run: string; dataId: Record<string, unknown> }> {
  const r = cli(['query-datasets', repo, ...args, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('create', () => {
  it('makes a repository, and refuses one that exists with one line', () => {
    const root = join(dir, 'new-repo');
    const r = cli(['create', root, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ root, registry: { kind: 'sqlite' } });
    expect(existsSync(join(root, 'butler.json'))).toBe(true);
    expectFailure(cli(['create', root]), /already exists/);
    expectUsageError(cli(['create', join(dir, 'x'), '--schema', 's']), /--schema needs --registry-url/);
    expectUsageError(cli(['create', join(dir, 'y'), '--registry-url', 'mysql://h/db']), /postgresql:\/\//);
  });

  it('writes the record checksum policy into butler.json: none by default (as daf_butler), or --checksum', () => {
    const policyOf = (root: string) => (JSON.parse(readFileSync(join(root, 'butler.json'), 'utf8')) as { datastore: { checksum: string } }).datastore.checksum;
    const plain = join(dir, 'checksum-default');
    expect(cli(['create', plain]).status).toBe(0);
    expect(policyOf(plain)).toBe('none');
    for (const policy of ['blake2b', 'sha256', 'none']) {
      const root = join(dir, `checksum-${policy}-given`);
      const r = cli(['create', root, '--checksum', policy]);
      expect(r.status, r.stderr).toBe(0);
      expect(policyOf(root)).toBe(policy);
    }
    expectUsageError(cli(['create', join(dir, 'z'), '--checksum', 'md5']), /--checksum must be one of blake2b, sha256, none/);
    expect(existsSync(join(dir, 'z'))).toBe(false);
  });
});

describe('query-datasets', () => {
  it('lists every dataset in a table, and filters by type glob, run and data ID', () => {
    const all = datasetsJson();
    expect(all.filter((d) => d.datasetType === 'raw')).toHaveLength(4);
    expect(all.filter((d) => d.datasetType === 'calexp')).toHaveLength(4);
    expect(all.filter((d) => d.datasetType === 'summary')).toHaveLength(3);
    const table = cli(['query-datasets', repo]);
    expect(table.status).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^type\s+run\s+data ID\s+id$/);
    expect(lines).toHaveLength(2 + all.length);
    for (const d of all) expect(table.stdout).toContain(d.id);

    expect(datasetsJson('sum*').map((d) => d.datasetType)).toEqual(['summary', 'summary', 'summary']);
    expect(new Set(datasetsJson('--run', 'demo/raw').map((d) => d.datasetType))).toEqual(new Set(['raw']));
    const det2 = datasetsJson('--data-id', 'detector=2');
    expect(det2.map((d) => d.datasetType).sort()).toEqual(['calexp', 'raw', 'summary']);
    expect(det2.every((d) => d.dataId['detector'] === 2)).toBe(true);
    expect(cli(['query-datasets', repo, 'nothing*']).stdout).toMatch(/No datasets found/);
  });

  it('usage errors and failures', () => {
    expectUsageError(cli(['query-datasets', repo, '--data-id', 'detector']), /--data-id needs KEY=VALUE/);
    expectUsageError(cli(['query-datasets']), /missing REPO/);
    expectUsageError(cli(['query-datasets', repo, 'a', 'b']), /unexpected argument b/);
    expectFailure(cli(['query-datasets', join(dir, 'no-such-repo')]), /is not a repository/);
  });
});

describe('query-quanta', () => {
  it('lists both quanta with their tasks and hosts, and filters by task glob', () => {
    const r = cli(['query-quanta', repo, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const quanta = JSON.parse(r.stdout) as Array<{ id: string; taskName: string; host: string; startedAt: string }>;
    expect(quanta.map((q) => q.taskName)).toEqual(['demo.Calibrate', 'demo.Summarize']);
    const p1 = NativeProvenanceSchema.parse(JSON.parse(readFileSync(join(dir, 'demo', 'quantum1.provenance.json'), 'utf8')));
    expect(quanta[0]).toMatchObject({ id: p1.quantum.id, host: p1.execution.host, startedAt: p1.execution.startedAt });
    const table = cli(['query-quanta', repo, '--task', '*Summ*']);
    expect(table.stdout).toContain('demo.Summarize');
    expect(table.stdout).not.toContain('demo.Calibrate');
    expect(table.stdout.split('\n')[0]).toMatch(/^task\s+data ID\s+host\s+started\s+duration\s+id$/);
  });
});

describe('lineage', () => {
  it('walks up from a summary to the raws and down from a raw to the summaries', () => {
    const [summary1] = datasetsJson('summary', '--data-id', 'detector=1');
    const [raw1] = datasetsJson('raw', '--data-id', 'detector=1');
    const up = cli(['lineage', repo, summary1!.id]);
    expect(up.status, up.stderr).toBe(0);
    const upLines = up.stdout.trimEnd().split('\n');
    expect(upLines[0]).toContain(summary1!.id);
    expect(upLines[1]).toMatch(/^└─ demo\.Summarize /);
    expect(up.stdout.match(/^\s*[│├└─ ]*raw /gm)).toHaveLength(4);

    const down = cli(['lineage', repo, raw1!.id, '--down', '--json']);
    const graph = JSON.parse(down.stdout) as { quanta: Array<{ taskName: string }>; datasets: Array<{ datasetType: string }> };
    expect(graph.quanta.map((q) => q.taskName).sort()).toEqual(['demo.Calibrate', 'demo.Summarize']);
    expect(graph.datasets.filter((d) => d.datasetType === 'summary')).toHaveLength(3);

    const cut = cli(['lineage', repo, summary1!.id, '--depth', '1']);
    expect(cut.stdout).not.toMatch(/ raw /);
    expect(cut.stdout).toMatch(/cut at depth 1/);
  });

  it('usage errors and failures', () => {
    expectUsageError(cli(['lineage', repo, '00000000-0000-4000-8000-000000000000', '--up', '--down']), /not both/);
    expectUsageError(cli(['lineage', repo, 'not-an-id']), /not-an-id/);
    expectUsageError(cli(['lineage', repo, '00000000-0000-4000-8000-000000000000', '--depth', '-1']), /--depth/);
    expectFailure(cli(['lineage', repo, '00000000-0000-4000-8000-000000000000']), /00000000-0000-4000-8000-000000000000/);
  });
});

describe('provenance', () => {
  it('prints the collected document in each format; native is the session document', () => {
    const p1 = JSON.parse(readFileSync(join(dir, 'demo', 'quantum1.provenance.json'), 'utf8')) as { quantum: { id: string }; actualOutputs: string[] };
    const native = cli(['provenance', repo, p1.quantum.id]);
    expect(native.status, native.stderr).toBe(0);
    expect(JSON.parse(native.stdout)).toEqual(p1);
    DafButlerProvenanceSchema.parse(JSON.parse(cli(['provenance', repo, p1.quantum.id, '--format', 'daf_butler']).stdout));
    expect(JSON.parse(cli(['provenance', repo, p1.quantum.id, '--format', 'prov']).stdout)).toHaveProperty('activity');
    expect(Array.isArray(JSON.parse(cli(['provenance', repo, p1.quantum.id, '--format', 'openlineage']).stdout))).toBe(true);
    const out = join(dir, 'p1.prov.json');
    const written = cli(['provenance', repo, p1.quantum.id, '--format', 'prov', '--out', out]);
    expect(written.stdout).toContain(out);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toHaveProperty('activity');
  });

  it('usage errors and failures', () => {
    expectUsageError(cli(['provenance', repo, 'q', '--format', 'xml']), /--format must be one of native, daf_butler, prov, openlineage/);
    expectUsageError(cli(['provenance', repo, 'q', '--format']), /--format needs a value/);
    expectFailure(cli(['provenance', repo, 'no-such-quantum']), /not stored/);
  });
});

describe('retrieve-artifacts', () => {
  it('copies the matching files with their index, refuses to overwrite, and overwrites with --clobber', () => {
    const dest = join(dir, 'artifacts');
    const r = cli(['retrieve-artifacts', repo, dest, '--dataset-type', 'summary', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const files = JSON.parse(r.stdout) as Array<{ path: string; ids: string[] }>;
    expect(files.flatMap((f) => f.ids).sort()).toEqual(ids(cli(['query-datasets', repo, 'summary', '--json']).stdout).sort());
    for (const f of files) expect(existsSync(f.path)).toBe(true);
    expect(readdirSync(dest)).toContain('_butler_zip_index.json');
    expectFailure(cli(['retrieve-artifacts', repo, dest, '--dataset-type', 'summary']), /already exist/);
    expect(cli(['retrieve-artifacts', repo, dest, '--dataset-type', 'summary', '--clobber']).status).toBe(0);
    const flat = cli(['retrieve-artifacts', repo, join(dir, 'flat'), '--data-id', 'detector=3', '--run', 'demo/run1', '--no-preserve-path']);
    expect(flat.status, flat.stderr).toBe(0);
    expect(flat.stdout).toMatch(/Retrieved 2 files/);
    expectUsageError(cli(['retrieve-artifacts', repo, dest, '--transfer', 'move']), /--transfer must be one of/);
  });
});

describe('collect', () => {
  const pairs = () => [1, 2].flatMap((n) => [join(dir, 'demo', `quantum${n}.quantum.json`), join(dir, 'demo', `quantum${n}.provenance.json`)]);

  it('collects the demo quanta into a new repository, then finds them already there', () => {
    const root = join(dir, 'collected');
    expect(cli(['create', root]).status).toBe(0);
    const dry = cli(['collect', root, ...pairs(), '--dry-run', '--json']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, committed: false });
    expect(JSON.parse(cli(['query-quanta', root, '--json']).stdout)).toEqual([]);
    const r = cli(['collect', root, ...pairs()]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Collected: 2 quanta stored \(0 already there\), 7 datasets/);
    // Not a terminal: progress as plain lines on stderr.
    expect(r.stderr).toMatch(/^collecting: 2\/2$/m);
    expect(JSON.parse(cli(['query-quanta', root, '--json']).stdout)).toHaveLength(2);
    expect(cli(['collect', root, ...pairs()]).stdout).toMatch(/0 quanta stored \(2 already there\)/);
  });

  it('usage errors and failures', () => {
    expectUsageError(cli(['collect', repo, ...pairs().slice(0, 3)]), /pairs of QUANTUM and PROVENANCE/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    expectFailure(cli(['collect', repo, bad, pairs()[1]!]), /is not JSON/);
    expectFailure(cli(['collect', repo, join(dir, 'missing.json'), pairs()[1]!]), /cannot read quantum .*ENOENT/);
  });

  it('a provenance file that is not JSON, or not a provenance document, fails the collect naming the file; nothing is written', () => {
    const root = join(dir, 'collected-bad');
    expect(cli(['create', root]).status).toBe(0);
    const notJson = join(dir, 'bad-provenance.json');
    writeFileSync(notJson, '{"actualOutputs": [');
    const notProvenance = join(dir, 'not-provenance.json');
    writeFileSync(notProvenance, '{"foo": 1}');
    const [q1, p1, q2] = pairs();
    for (const [bad, message] of [
      [notJson, 'Provenance document 1 is not JSON'],
      [notProvenance, 'Provenance document 1 is neither a native document'],
    ] as const) {
      const r = cli(['collect', root, q1!, p1!, q2!, bad]);
      expect(r.status, r.stderr).toBe(1);
      // Progress lines, then one line naming the file.
      expect(r.stderr.trimEnd().split('\n').at(-1)).toContain(`quantum-butler collect: provenance ${bad}: ${message}`);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
    expect(JSON.parse(cli(['query-quanta', root, '--json']).stdout)).toEqual([]);
    expect(cli(['collect', root, ...pairs()]).status).toBe(0);
  });

  it('conflicts exit 3, apart from failures (1), and nothing is written', () => {
    const root = join(dir, 'collected-conflict');
    expect(cli(['create', root]).status).toBe(0);
    const [q1, p1] = pairs();
    expect(cli(['collect', root, q1!, p1!]).status).toBe(0);
    // Another document for the stored quantum: quantumConflict.
    const other = join(dir, 'other-provenance.json');
    const doc = JSON.parse(readFileSync(p1!, 'utf8')) as { execution: { host: string } };
    doc.execution.host = 'another-host';
    writeFileSync(other, JSON.stringify(doc));
    const r = cli(['collect', root, q1!, other, '--json']);
    expect(r.status, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ committed: false, conflicts: [{ reason: 'quantumConflict' }] });
    expect(r.stderr).toMatch(/1 conflicts; nothing was written/);
    expect(JSON.parse(cli(['query-quanta', root, '--json']).stdout)).toHaveLength(1);
  });
});

describe('report', () => {
  it('reports a repository, a run, chosen quanta, and provenance files linked from the page', () => {
    const p1 = JSON.parse(readFileSync(join(dir, 'demo', 'quantum1.provenance.json'), 'utf8')) as { quantum: { id: string } };
    const all = join(dir, 'all.html');
    const r = cli(['report', repo, '--out', all]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/report of 2 quanta/);
    const html = readFileSync(all, 'utf8');
    expect(html).toContain('demo.Calibrate');
    expect(html).toContain('demo.Summarize');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(cli(['report', repo, '--run', 'demo/raw', '--out', join(dir, 'none.html')]).stdout).toMatch(/report of 0 quanta/);
    const one = cli(['report', repo, '--quantum', p1.quantum.id, '--out', join(dir, 'one.html')]);
    expect(one.stdout).toMatch(/report of 1 quantum/);
    expect(readFileSync(join(dir, 'one.html'), 'utf8')).not.toContain('demo.Summarize');
    const files = cli(['report', join(dir, 'demo', 'quantum1.provenance.json'), join(dir, 'demo', 'quantum2.provenance.json'), '--out', join(dir, 'demo', 'files.html')]);
    expect(files.status, files.stderr).toBe(0);
    expect(readFileSync(join(dir, 'demo', 'files.html'), 'utf8')).toContain('href="quantum1.provenance.json"');
  });

  it('usage errors and failures', () => {
    expectUsageError(cli(['report', repo]), /--out FILE\.html is required/);
    expectUsageError(cli(['report', join(dir, 'demo', 'quantum1.provenance.json'), '--run', 'r', '--out', join(dir, 'r.html')]), /need a repository/);
    expectFailure(cli(['report', repo, '--out', dir]), /is a directory/);
    expectFailure(cli(['report', join(dir, 'demo', 'quantum1.daf_butler.json'), '--out', join(dir, 'd.html')]), /not a native provenance document/);
    expectFailure(cli(['report', repo, '--quantum', 'nope', '--out', join(dir, 'n.html')]), /quantum nope is not stored/);
  });
});

describe.runIf(pgUrl !== undefined)('on a PostgreSQL registry', () => {
  const schema = uniqueSchema('cli');
  afterAll(() => dropSchemas(pgUrl!, [schema]));

  it('create --registry-url --schema, then collect, query and report with --registry-url', () => {
    const root = join(dir, 'pg-repo');
    const made = cli(['create', root, '--registry-url', pgUrl!, '--schema', schema, '--json']);
    expect(made.status, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ registry: { kind: 'postgresql' } });
    const pairs = [1, 2].flatMap((n) => [join(dir, 'demo', `quantum${n}.quantum.json`), join(dir, 'demo', `quantum${n}.provenance.json`)]);
    const collected = cli(['collect', root, ...pairs, '--registry-url', pgUrl!]);
    expect(collected.status, collected.stderr).toBe(0);
    const quanta = JSON.parse(cli(['query-quanta', root, '--registry-url', pgUrl!, '--json']).stdout) as Array<{ taskName: string }>;
    expect(quanta.map((q) => q.taskName)).toEqual(['demo.Calibrate', 'demo.Summarize']);
    expect(JSON.parse(cli(['query-datasets', root, 'summary', '--registry-url', pgUrl!, '--json']).stdout)).toHaveLength(3);
    expect(cli(['report', root, '--registry-url', pgUrl!, '--out', join(dir, 'pg.html')]).stdout).toMatch(/report of 2 quanta/);
    // The server unreachable: a failure worth retrying, exit 75 (EX_TEMPFAIL).
    const down = cli(['collect', root, ...pairs, '--registry-url', 'postgresql://qb@127.0.0.1:1/none']);
    expect(down.status, down.stderr).toBe(75);
    expect(down.stderr).toMatch(/\(temporary: try again later\)\n$/);
  });

  it('create with the password in the query string (?password=, ?sslpassword=) neither prints nor records it', async () => {
    const root = join(dir, 'pg-repo-query-password');
    const qschema = uniqueSchema('clipw');
    const u = new URL(pgUrl!);
    u.searchParams.set('password', 'TopSecret123');
    u.searchParams.set('sslpassword', 'KeySecret456');
    u.searchParams.set('application_name', 'kept');
    try {
      const made = cli(['create', root, '--registry-url', u.href, '--schema', qschema]);
      expect(made.status, made.stderr).toBe(0);
      expect(made.stdout).toMatch(/Created repository .*password=\*\*\*/);
      expect(made.stdout + made.stderr).not.toMatch(/TopSecret123|KeySecret456/);
      const config = readFileSync(join(root, 'butler.json'), 'utf8');
      expect(config).not.toMatch(/TopSecret123|KeySecret456|password/);
      expect(config).toMatch(/application_name=kept/);
    } finally {
      await dropSchemas(pgUrl!, [qschema]);
    }
  });
});

it('a registry URL with the password in its query string is not echoed when the server cannot be reached', () => {
  const r = cli(['create', join(dir, 'unreachable-pw'), '--registry-url', 'postgresql://butler@127.0.0.1:1/postgres?password=TopSecret123', '--schema', 's1']);
  expect(r.status).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(/password=\*\*\*/);
  expect(r.stdout + r.stderr).not.toMatch(/TopSecret123/);
});
