/**
 * Spawning the sidecar from an editor extension (VS Code, or any Electron host).
 *
 * The extension host runs on Electron: `process.execPath` is the editor's binary, in which
 * better-sqlite3's native module does not load. Start the sidecar with the system's Node
 * instead (`spawn()` does so by default under Electron; a setting lets users pick one).
 * Compiled by the test suite (test/package/editor-example.test.ts); not run.
 */
import { QuantumButlerClient, type ButlerSession } from 'quantum-butler/client';

/** What the example needs from the editor: a setting and a place to register disposables. */
export interface EditorHost {
  /** e.g. `vscode.workspace.getConfiguration('quantumButler').get<string>('nodePath')`. */
  nodePath(): string | undefined;
  /** e.g. `context.subscriptions.push(...)`. */
  onDeactivate(dispose: () => Promise<unknown>): void;
  log(line: string): void;
}

export async function activate(host: EditorHost): Promise<ButlerSession> {
  const client = await QuantumButlerClient.spawn({
    node: host.nodePath() ?? 'node', // system Node (>= 20) from PATH, never the extension host's runtime
    stderr: 'pipe', // keep the sidecar's logs out of the editor's own output
    clientName: 'my-editor-extension',
  });
  host.onDeactivate(() => client.close());
  client.onProvenance((event) => host.log(`${event.event} ${event.datasetType} ${event.datasetId}`));
  return client.openSession({ predicted: { inputs: [], outputs: [] } });
}
