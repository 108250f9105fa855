/**
 * What a transcript may assume: a fresh temporary directory ({{tmpdir}}, also the
 * sidecar's working directory, so relative paths stay inside it) and, when the
 * transcript mentions `{{fixture...}}`, a freshly built fixture repository
 * ({{fixtureRepo}}, {{fixtureDir}}, and the manifest as {{fixture.…}} lookups).
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bindings } from './bindings.js';
import { buildFixtureRepository } from './fixture-builder.js';

export interface Environment {
  readonly tmpdir: string;
  readonly bindings: Bindings;
  /** Paths the recorder turns back into placeholders, longest first. */
  readonly paths: Array<{ path: string; name: string }>;
  dispose(): void;
}

export interface EnvironmentOptions {
  cliPath: string;
  withFixture: boolean;
  /** Keep the temporary directory (for debugging a failed replay). */
  keep?: boolean;
}

export async function prepareEnvironment(opts: EnvironmentOptions): Promise<Environment> {
  // realpath: on some systems the temp dir is a symlink and the sidecar reports resolved paths.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'qb-replay-')));
  const bindings = new Bindings([['tmpdir', dir]]);
  const paths = [{ path: dir, name: 'tmpdir' }];
  const dispose = () => {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  };
  if (opts.withFixture) {
    try {
      const manifest = await buildFixtureRepository(join(dir, 'fixture'), { cliPath: opts.cliPath });
      bindings.bind('fixtureDir', manifest.dir);
      bindings.bind('fixtureRepo', manifest.root);
      bindings.bind('fixture', manifest);
      paths.unshift({ path: manifest.dir, name: 'fixtureDir' });
      paths.unshift({ path: manifest.root, name: 'fixtureRepo' });
    } catch (err) {
      dispose();
      throw err;
    }
  }
  return { tmpdir: dir, bindings, paths, dispose };
}
