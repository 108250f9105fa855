/** Transcript parsing (blocks, validation with line numbers), the file format, and the recorder's volatile rules. */
import { describe, expect, it } from 'vitest';
import { parseTranscript, TranscriptError } from '../../src/replay/transcript.js';
import { formatEntries, readEntries } from '../../src/replay/transcript-file.js';
import { Generalizer } from '../../src/replay/volatile.js';

/** A transcript with one compact step per line: step n starts on line n. */
const lines = (...objs: unknown[]) => `[${objs.map((o) => JSON.stringify(o)).join(',\n')}]`;
const ping = { send: { method: 'server/ping' } };
const ok = { expect: { result: null } };

describe('parseTranscript', () => {
  it('groups sends with the lines that answer them; notifications join the next request', () => {
    const t = parseTranscript(
      lines(
        { meta: { args: ['--max-sessions=2'] } },
        { send: { method: 'initialized', params: {} } },
        ping,
        { notify: { method: '$/logTrace', params: { message: '{{*}}' } } },
        ok,
        { comment: 'between' },
        { send: { method: 'butler/put', params: {} }, id: 'big' },
        { send: { method: '$/cancelRequest', params: { id: 'big' } }, pipelined: true },
        { send: { method: 'server/ping' }, pipelined: true },
        { expect: { error: {} }, id: 'big' },
        ok,
        { send: { method: 'exit' } },
        { expectExit: 0 },
      ),
    );
    expect(t.meta.args).toEqual(['--max-sessions=2']);
    const kinds = t.steps.map((s) => s.kind);
    expect(kinds).toEqual(['block', 'comment', 'block', 'block', 'expectExit']);
    const [first, , second, third] = t.steps as Array<Extract<(typeof t.steps)[number], { kind: 'block' }>>;
    expect(first!.sends.map((s) => [s.message?.method, s.notification])).toEqual([['initialized', true], ['server/ping', false]]);
    expect(first!.notifies).toHaveLength(1);
    expect(second!.sends.map((s) => s.label ?? s.notification)).toEqual(['big', true, false]);
    expect(second!.expects.map((e) => e.label)).toEqual(['big', undefined]);
    expect(third!.sends[0]!.notification).toBe(true);
  });

  it('a request without pipelined starts a new block', () => {
    const t = parseTranscript(lines(ping, ping, ok), { script: true });
    expect(t.steps).toHaveLength(2);
    expect(() => parseTranscript(lines(ping, ping, ok))).toThrow(/line 1: this block sends 1 request\(s\) but has 0 expect/);
  });

  it('reports the line of every kind of mistake', () => {
    const bad = (text: string, re: RegExp) => {
      try {
        parseTranscript(text);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(TranscriptError);
        expect((err as Error).message).toMatch(re);
      }
    };
    bad(lines(ping, ok).replace(/\]$/, ',\n{oops]'), /^line 3: not JSON/);
    bad(JSON.stringify(ping), /^line 1: a transcript is a JSON array of steps/);
    bad(lines(ping, [ok]), /^line 2: each step must be a JSON object/);
    bad(lines(ping, { expect: { result: 1, error: 2 } }), /^line 2: invalid expect line/);
    bad(lines(ping, { notify: { method: 'x' }, send: ping.send }), /^line 2: one line, one step/);
    bad(lines({ frobnicate: 1 }), /^line 1: unknown step/);
    bad(lines(ok), /^line 1: expect without a send/);
    bad(lines({ send: { method: 'x', params: { a: '{{int}}' } } }), /^line 1: \{\{int\}\} cannot be sent/);
    bad(lines(ping, { expect: { result: '{{date:x}}' } }), /^line 2: \{\{date:x\}\}: unknown type 'date'/);
    bad(lines(ping, ok, { meta: {} }), /^line 3: meta must be the first step/);
    bad(lines({ send: ping.send, capture: { p: '$.result[' } }, ok), /^line 1: bad path/);
    bad(lines(ping, { expect: { result: 1 }, id: 'nope' }), /^line 2: expect names id "nope"/);
    bad(lines({ send: { method: 'exit' }, id: 1 }), /^line 1: a notification has no id/);
    bad(lines({ send: ping.send, pipelined: true }, ok), /^line 1: pipelined, but no request before it/);
  });

  it('notices when a transcript needs the fixture repository', () => {
    expect(parseTranscript(lines(ping, ok)).usesFixture).toBe(false);
    expect(parseTranscript(lines({ send: { method: 'x', params: { root: '{{fixtureRepo}}' } } }, ok)).usesFixture).toBe(true);
  });
});

describe('the transcript file', () => {
  it('writes each step pretty-printed, one member per line, and reads back the same steps with their first lines', () => {
    const steps = [{ send: { method: 'a', params: { x: [1, { y: 'z' }] } } }, { expect: { result: { s: 'has ] and }, "quotes" \\ too' } } }, { comment: '' }];
    const text = formatEntries(steps);
    expect(text).toBe(
      [
        '[',
        '  {',
        '    "send": {',
        '      "method": "a",',
        '      "params": {',
        '        "x": [',
        '          1,',
        '          {',
        '            "y": "z"',
        '          }',
        '        ]',
        '      }',
        '    }',
        '  },',
        '  {',
        '    "expect": {',
        '      "result": {',
        '        "s": "has ] and }, \\"quotes\\" \\\\ too"',
        '      }',
        '    }',
        '  },',
        '  {',
        '    "comment": ""',
        '  }',
        ']',
        '',
      ].join('\n'),
    );
    expect(readEntries(text)).toEqual([
      { line: 2, value: steps[0] },
      { line: 15, value: steps[1] },
      { line: 22, value: steps[2] },
    ]);
    expect(formatEntries([])).toBe('[]\n');
    expect(readEntries('[]')).toEqual([]);
  });
});

describe('the recorder\'s volatile rules', () => {
  const random = '0b8f4a52-5c1e-4f7a-9d2e-3a6b7c8d9e0f';
  const random2 = '1c9e5b63-6d2f-4a8b-8e3f-4b7c8d9e0f1a';
  const deterministic = '2674b2da-9fad-50aa-948c-3181494703b9';
  const chosen = '11111111-1111-4111-8111-111111111111';
  const gen = () => new Generalizer({ paths: [{ path: '/tmp/qb-replay-a', name: 'tmpdir' }, { path: '/tmp/qb-replay-a/fixture/repo', name: 'fixtureRepo' }], stable: new Set([chosen]), reserved: ['tmpdir'] });

  it('names random uuids after their key, keeps deterministic and chosen ones', () => {
    const g = gen();
    expect(g.generalize({ sessionId: random, id: deterministic, quantumId: chosen })).toEqual({ sessionId: '{{uuid:sessionId}}', id: deterministic, quantumId: chosen });
    expect(g.generalize({ handle: random2, again: random, quantum: { id: random2 } })).toEqual({ handle: '{{uuid:handle}}', again: '{{sessionId}}', quantum: { id: '{{handle}}' } });
    expect(g.generalize({ sessionId: '22222222-2222-4222-8222-222222222222' })).toEqual({ sessionId: '{{uuid:sessionId2}}' });
    expect([...g.named.keys()]).toEqual(['sessionId', 'handle', 'sessionId2']);
  });

  it('replaces times, counters, timings, hosts, paths and durations', () => {
    const g = gen();
    expect(
      g.generalize({
        time: '2026-11-23T10:21:47.690Z',
        uptimeMs: 204,
        requests: 11,
        methods: { 'server/ping': { count: 4, meanMs: 0.17 } },
        timings: { prepare: 0.001, commit: 2 },
        host: 'build-7',
        uri: 'file:///tmp/qb-replay-a/fixture/repo/datastore/x.json',
        message: `No open transaction ${random} in session kv at 2026-11-23T10:21:47Z; see /tmp/qb-replay-a.`,
        other: '/tmp/qb-replay-ab/x',
        trace: 'server/ping ok in 0.05 ms',
        [`InMemoryDatastore@${random2}`]: 1,
      }),
    ).toEqual({
      time: '{{time}}',
      uptimeMs: '{{int}}',
      requests: 11,
      methods: { 'server/ping': { count: 4, meanMs: '{{number}}' } },
      timings: { prepare: '{{number}}', commit: '{{number}}' },
      host: '{{string}}',
      uri: 'file://{{fixtureRepo}}/datastore/x.json',
      message: 'No open transaction {{uuid:message}} in session kv at {{time}}; see {{tmpdir}}.',
      other: '/tmp/qb-replay-ab/x',
      trace: 'server/ping ok in {{number}} ms',
      'InMemoryDatastore@{{uuid:value}}': 1,
    });
  });
});
