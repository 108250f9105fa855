/**
 * Which Node runs the sidecar. Inside Electron (a VS Code extension host, an Electron app)
 * `process.execPath` is the Electron binary: it can run scripts as Node, but native addons
 * built for Node (better-sqlite3) do not load in it. There the system's `node` from PATH is
 * the default; elsewhere the Node running this client is.
 */
export function defaultNodeBinary(versions: NodeJS.ProcessVersions = process.versions, execPath: string = process.execPath): string {
  return versions.electron !== undefined ? 'node' : execPath;
}
