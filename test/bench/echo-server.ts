/** The ceiling: a bare vscode-jsonrpc echo server over stdio, nothing else. */
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';

const conn = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
conn.onRequest('test/echo', (p: unknown) => p);
conn.onClose(() => process.exit(0));
conn.listen();
