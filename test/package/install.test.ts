/**
 * Done-when of the installable clients: the packed npm tarball installed into a temporary
 * project, the Python client pip-installed offline from that install into a temporary venv
 * (`pip install --no-index --no-build-isolation`), and a SingleQuantumExecutor-style host run
 * from a folder of that project (outside this repository) that finds the sidecar in the
 * project's node_modules/.bin by itself.
 *
 * Offline: the tarball's npm dependencies are copied from this checkout's node_modules (the
 * runtime ones, per package-lock.json) before `npm install --offline` adds the tarball, so npm
 * needs no registry and better-sqlite3 is not rebuilt (~1 min). Building the Python package
 * offline needs setuptools and wheel in the venv: Python 3.11's venv has setuptools but not
 * wheel, so the venv is made with --system-site-packages from the first interpreter that has
 * both (python3, then Debian's /usr/bin/python3 with python3-setuptools and python3-wheel).
 * Where none has them the test is skipped, saying why.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'qb-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A venv whose python can build a setuptools package offline, or why there is none. */
function venvWithBuildTools(): { python: string } | { reason: string } {
  const tried: string[] = [];
  for (const interpreter of ['python3', '/usr/bin/python3']) {
    // A plain venv has at most setuptools (ensurepip never installs wheel): use an interpreter
    // whose own site-packages has both, through --system-site-packages.
    const probe = spawnSync(interpreter, ['-c', 'import setuptools, wheel'], { encoding: 'utf8', timeout: 30_000 });
    if (probe.status !== 0) {
      tried.push(`${interpreter}: ${(probe.error?.message ?? probe.stderr).trim().split('\n').pop()}`);
      continue;
    }
    const dir = join(work, 'venv');
    const made = spawnSync(interpreter, ['-m', 'venv', '--system-site-packages', dir], { encoding: 'utf8', timeout: 120_000 });
    if (made.status === 0) return { python: join(dir, 'bin', 'python') };
    tried.push(`${interpreter} -m venv --system-site-packages: ${(made.error?.message ?? made.stderr).trim().split('\n').pop()}`);
  }
  return { reason: `no Python venv can build the client offline (it needs setuptools and wheel); tried: ${tried.join('; ')}` };
}

/** The runtime (non-dev) packages of package-lock.json, copied from this checkout. */
function copyRuntimeDependencies(project: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || meta.dev) continue;
    try {
      cpSync(join(ROOT, path), join(project, path), { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // an optional package not installed here
    }
  }
}

describe('installed from the npm tarball and pip', () => {
  it('runs a SingleQuantumExecutor-style Python host outside the repository', (ctx) => {
    const venv = venvWithBuildTools();
    if ('reason' in venv) {
      console.warn(`SKIPPED: ${venv.reason}`);
      ctx.skip();
      return;
    }

    // npm pack (dist/ is built by npm test) and npm install of the tarball, offline.
    const tarball = join(work, run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], ROOT).trim().split('\n').pop()!);
    const project = join(work, 'host-project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'host-project', version: '1.0.0', private: true }));
    copyRuntimeDependencies(project);
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], project);
    const installed = join(project, 'node_modules', 'quantum-butler');

    // The Node entry points resolve from the installed files alone.
    const imported = run(process.execPath, ['--input-type=module', '-e',
      "const c = await import('quantum-butler/client'); const p = await import('quantum-butler/protocol'); const l = await import('quantum-butler');" +
      "console.log(typeof c.QuantumButlerClient.spawn, typeof p.PROTOCOL_VERSION, typeof l.QuantumBackedButler)"], project);
    expect(imported.trim()).toBe('function string function');

    // pip install of the Python client shipped in the tarball, offline, into the venv.
    run(venv.python, ['-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--quiet', join(installed, 'clients', 'python')], work);

    // The host runs in a folder of the project: no QUANTUM_BUTLER_CLI, nothing on PATH but Node.
    const folder = join(project, 'pipelines', 'calibrate');
    mkdirSync(folder, { recursive: true });
    const host = join(folder, 'host.py');
    cpSync(join(import.meta.dirname, 'single-quantum-host.py'), host);
    const env: NodeJS.ProcessEnv = { PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':'), HOME: process.env['HOME'], LANG: 'C.UTF-8' };
    const out = JSON.parse(run(venv.python, [host], folder, env).trim().split('\n').pop()!) as {
      client_module: string;
      cli_path: string;
      cli_source: string;
      stored: boolean[];
      read_back: unknown;
      refused: string | null;
      provenance: Record<string, string[]>;
      native_outputs: string[];
      ids: { raws: string[]; calexp: string };
    };

    expect(realpathSync(out.client_module).startsWith(realpathSync(dirname(dirname(venv.python))))).toBe(true);
    expect(out.cli_source).toBe(`node_modules/.bin (${join(project, 'node_modules', '.bin', 'quantum-butler')})`);
    expect(out.cli_path).toBe(realpathSync(join(installed, 'dist', 'src', 'cli.js')));
    expect(out.stored).toEqual([true, true]);
    expect(out.read_back).toEqual({ total: 30 });
    expect(out.refused).toBe('NotPredictedOutputError');
    const raws = [...out.ids.raws].sort();
    expect([...out.provenance['predicted_inputs']!].sort()).toEqual(raws);
    expect([...out.provenance['available_inputs']!].sort()).toEqual(raws);
    expect([...out.provenance['actual_inputs']!].sort()).toEqual(raws);
    expect(out.provenance['actual_outputs']).toEqual([out.ids.calexp]);
    expect(out.native_outputs).toEqual([out.ids.calexp]);
  }, 180_000);
});
