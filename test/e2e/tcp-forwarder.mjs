// Forwards TCP connections on 0.0.0.0:PORT to a Unix socket: run inside the many-hosts test's
// "server" network namespace, it makes PostgreSQL reachable over the test's veth pairs.
// Usage: node tcp-forwarder.mjs SOCKET PORT. Prints "listening" once it accepts connections.
import net from 'node:net';

const [socketPath, port] = process.argv.slice(2);
const server = net.createServer((client) => {
  const upstream = net.connect({ path: socketPath });
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
});
server.listen(Number(port), '0.0.0.0', () => process.stdout.write('listening\n'));
process.stdin.on('end', () => process.exit(0)); // the test closes our stdin (or dies): stop
process.stdin.resume();
