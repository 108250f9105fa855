/**
 * Logging: JSON lines on stderr (never stdout), and window/logMessage to the client
 * for warnings and errors when it asked for them.
 */
export type LogLevel = 'error' | 'warning' | 'info' | 'log' | 'debug';

/**
 * stderr as a log sink that can neither end nor bloat the process. Once stderr fails (EPIPE:
 * a host that died, or closed the pipe it never read), logging to it stops for good. While
 * the host does not read it, lines beyond STDERR_BACKLOG waiting bytes are dropped, and a
 * count of them is written once stderr has room again.
 */
const STDERR_BACKLOG = 1024 * 1024;
let stderrBroken = false;
let dropped = 0;
process.stderr.on('error', () => {
  stderrBroken = true;
});

function writeStderr(line: string): void {
  if (stderrBroken) return;
  if (process.stderr.writableLength > STDERR_BACKLOG) {
    dropped++;
    return;
  }
  if (dropped > 0) {
    line = JSON.stringify({ t: new Date().toISOString(), level: 'warning', msg: `${dropped} log lines dropped: stderr was not being read` }) + '\n' + line;
    dropped = 0;
  }
  try {
    process.stderr.write(line);
  } catch {
    stderrBroken = true;
  }
}

const RANK: Record<LogLevel, number> = { error: 1, warning: 2, info: 3, log: 4, debug: 5 };

export class Logger {
  private forward: ((type: number, message: string) => void) | null = null;

  constructor(private level: LogLevel = 'info') {}

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  /** Also send messages at or above warning to the client. */
  forwardTo(send: ((type: number, message: string) => void) | null): void {
    this.forward = send;
  }

  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (RANK[level] > RANK[this.level]) return;
    // One complete line per write so concurrent writers never interleave.
    writeStderr(JSON.stringify({ t: new Date().toISOString(), level, msg, ...fields }) + '\n');
    if (this.forward && RANK[level] <= RANK.warning) {
      try {
        this.forward(RANK[level], msg);
      } catch {
        // The connection may be gone; stderr has it.
      }
    }
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warning', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
}
