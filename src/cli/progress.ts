/** Progress on stderr: a bar redrawn in place on a terminal, a few plain lines otherwise. */
import type { CommandIo } from './command.js';

export function progressReporter(io: CommandIo, label: string): { update(done: number, total: number): void; end(): void } {
  let lastPlain = -1;
  let drawn = false;
  return {
    update(done, total) {
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      if (io.tty) {
        const filled = Math.round(pct / 5);
        io.err(`\r${label} [${'#'.repeat(filled)}${' '.repeat(20 - filled)}] ${String(pct).padStart(3)}% ${done}/${total}`);
        drawn = true;
      } else if (Math.floor(pct / 25) > lastPlain) {
        // Plain output (a log, a pipe): at 0, 25, 50, 75 and 100 %.
        lastPlain = Math.floor(pct / 25);
        io.err(`${label}: ${done}/${total}\n`);
      }
    },
    end() {
      if (drawn) io.err('\n');
    },
  };
}
