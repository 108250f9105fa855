/** io-shape.ts reads this process's own counters from /proc: a write and a sleep show up in them. */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ioShape, perCall } from './io-shape.js';

describe.runIf(process.platform === 'linux')('ioShape', () => {
  it('counts the write system calls, bytes written and wake-ups of a process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'io-shape-'));
    try {
      const fd = openSync(join(dir, 'f'), 'w');
      const before = ioShape(process.pid);
      for (let i = 0; i < 10; i++) writeSync(fd, Buffer.alloc(1000));
      await new Promise((resolve) => setTimeout(resolve, 20)); // the main thread sleeps, then is woken
      const after = ioShape(process.pid);
      closeSync(fd);
      const per = perCall(before, after, 10);
      expect(per.writes).toBeGreaterThanOrEqual(1);
      expect(per.bytesOut).toBeGreaterThanOrEqual(1000);
      expect(after.wakeups).toBeGreaterThan(before.wakeups);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is NaN for a process that is gone or unknown', () => {
    expect(ioShape(undefined).writes).toBeNaN();
    expect(ioShape(2 ** 22 + 12345).reads).toBeNaN();
  });
});
