// A child process for the torn-write test: overwrites one key of a file store, forever,
// with values whose every byte is i % 251 and whose metadata is {i}. It says "first" once
// the first value is stored. The test kills it mid-write. Imports the built store (dist/).
import { FileStore } from '../../dist/src/store/index.js';

const [root, sizeText] = process.argv.slice(2);
const store = new FileStore(root);
const size = Number(sizeText);
for (let i = 1; ; i++) {
  await store.set('value/k', Buffer.alloc(size, i % 251), { i });
  if (i === 1) process.stdout.write('first\n');
}
