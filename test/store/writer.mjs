// A child process for the multi-process tests: writes through our built store
// (dist/, produced by `npm run build` / `npx tsc`) into a shared sqlite file or file tree.
// Usage: node writer.mjs <sqlite|file> <path> <tag> <count>
import { FileStore, SqliteStore } from '../../dist/src/store/index.js';

const [kind, path, tag, countText] = process.argv.slice(2);
const count = Number(countText);
const store = kind === 'sqlite' ? new SqliteStore(path, { busyTimeoutMs: 20000 }) : new FileStore(path);

for (let i = 0; i < count; i++) {
  const key = kind === 'sqlite' ? `${tag}/${i}` : `common/sub${i % 5}/${tag}-${i}`;
  await store.set(key, Buffer.from(`${tag}:${i}`), { tag, i });
  if (kind === 'sqlite') {
    // Read-modify-write of one shared key, atomic per call.
    await store.updateMetadata('shared', { [`${tag}${i}`]: i });
    // Read-modify-write across calls, made atomic by a transaction (BEGIN IMMEDIATE).
    await store.transaction('increment', async () => {
      const { n } = await store.getMetadata('counter');
      await store.setMetadata('counter', { n: n + 1 });
    });
  } else {
    // Short-lived keys: their deletes prune directories the other process is writing into.
    const temp = `common/tmp${i % 3}/${tag}-${i}`;
    await store.set(temp, Buffer.from('x'), {});
    await store.delete(temp);
  }
}
await store.close();
