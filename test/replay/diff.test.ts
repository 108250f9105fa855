/** Diffs: the path, the expected and the actual value; colors only when asked. */
import { describe, expect, it } from 'vitest';
import { colorEnabled, formatFailure, formatMismatch, formatReport, formatValue } from '../../src/replay/diff.js';
import { MISSING } from '../../src/replay/matcher.js';

const plain = { color: false };

describe('diff', () => {
  it('formats values as compact JSON, missing ones as (missing), long ones cut in the middle', () => {
    expect(formatValue({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
    expect(formatValue(MISSING)).toBe('(missing)');
    const long = formatValue('x'.repeat(1000));
    expect(long.length).toBeLessThan(400);
    expect(long).toMatch(/ … .*\(1002 chars\)$/);
  });

  it('a mismatch shows its path, the expected and the actual value, and the reason', () => {
    const text = formatMismatch({ path: '$.result.size', expected: 27, actual: 28, reason: 'because' }, plain);
    expect(text.split('\n')).toEqual(['    $.result.size  (because)', '      - expected 27', '      + actual   28']);
  });

  it('a failure names the transcript line and what was checked', () => {
    const text = formatFailure({ line: 12, title: 'response to butler/put (sent at line 11)', mismatches: [{ path: '$.error.code', expected: 1003, actual: 1002 }] }, plain);
    expect(text).toContain('line 12: response to butler/put (sent at line 11)');
    expect(text).toContain('$.error.code');
    const note = formatFailure({ line: 3, title: 'replay stopped', mismatches: [], note: 'no answer within 10 ms' }, plain);
    expect(note).toContain('no answer within 10 ms');
  });

  it('a report is one PASS line, or FAIL with the count and every failure', () => {
    expect(formatReport('a.json', [], plain)).toBe('PASS a.json\n');
    const fail = formatReport('b.json', [
      { line: 2, title: 't', mismatches: [{ path: '$.a', expected: 1, actual: 2 }, { path: '$.b', expected: 1, actual: 2 }] },
      { line: 5, title: 'u', mismatches: [], note: 'not received' },
    ], plain);
    expect(fail.split('\n')[0]).toBe('FAIL b.json: 3 mismatches');
    expect(fail).not.toContain('\x1b[');
  });

  it('colors only when enabled', () => {
    const text = formatMismatch({ path: '$.a', expected: 1, actual: 2 }, { color: true });
    expect(text).toContain('\x1b[31m- expected 1');
    expect(text).toContain('\x1b[32m+ actual   2');
    expect(colorEnabled({ isTTY: true }, {})).toBe(true);
    expect(colorEnabled({ isTTY: false }, {})).toBe(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
  });
});
