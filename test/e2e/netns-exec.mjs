// Runs the sidecar inside a network namespace: `node netns-exec.mjs --stdio ...` becomes
// `ip netns exec $QB_NETNS node $QB_CLI --stdio ...`, on the same pipes (the many-hosts test
// spawns its hosts through this, as the Node client spawns `node CLI`).
import { spawn } from 'node:child_process';

const child = spawn('ip', ['netns', 'exec', process.env.QB_NETNS, process.execPath, process.env.QB_CLI, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
