// Rewrites a callgrind output file's unnamed JIT functions (names like 0x000000000d2aaa40) to the
// names V8 gave them in its perf map (node --perf-basic-prof), so that callgrind_annotate shows JS
// frames by name. The later of two map entries that cover an address wins (code moved or replaced).
//     node test/bench/callgrind-jit-names.mjs callgrind.out.PID-01 perf-PID.map > named.out
import { readFileSync } from 'node:fs';
const [file, map] = process.argv.slice(2);
const ranges = readFileSync(map, 'utf8').split('\n').filter(Boolean).map((l) => {
  const [a, s, ...n] = l.split(' ');
  return { start: parseInt(a, 16), end: parseInt(a, 16) + parseInt(s, 16), name: n.join(' ') };
});
const nameOf = (addr) => {
  for (let i = ranges.length - 1; i >= 0; i--) if (addr >= ranges[i].start && addr < ranges[i].end) return ranges[i].name;
  return undefined;
};
const out = readFileSync(file, 'utf8').replace(/^((?:c?fn)=\(\d+\) )0x([0-9a-f]+)$/gm, (m, head, hex) => {
  const n = nameOf(parseInt(hex, 16));
  return n ? `${head}${n.replace(/\s+/g, '_')} [0x${hex}]` : m;
});
process.stdout.write(out);
