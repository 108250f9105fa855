/**
 * The id a quantum is stored under when its document names none (daf_butler's
 * QuantumProvenanceData): a UUID 5 of its sorted predicted output ids, so the order the
 * quantum lists them in does not matter; a quantum without outputs is told apart by its task,
 * data ID and inputs.
 */
import { describe, expect, it } from 'vitest';
import { deriveQuantumId } from '../../src/repository/collect-and-transfer.js';
import { parseQuantum } from '../../src/model/quantum.js';
import * as fx from '../e2e/fixture.js';

describe('derived quantum ids', () => {
  it('do not depend on the order of the predicted outputs', () => {
    const reversed = fx.serializedQuantum({
      taskName: 'lsst.pipe.base.tests.TestTask',
      initInputs: { init: fx.initRef() },
      inputs: { input: fx.inputRefs() },
      outputs: { output: fx.outputRefs().reverse() },
    });
    const a = parseQuantum(fx.q1());
    const b = parseQuantum(reversed);
    expect(b.outputs.map((r) => r.id)).not.toEqual(a.outputs.map((r) => r.id));
    expect(deriveQuantumId(b)).toBe(deriveQuantumId(a));
    // Other outputs, another id.
    expect(deriveQuantumId(parseQuantum(fx.q2()))).not.toBe(deriveQuantumId(a));
  });

  it('of quanta without outputs differ by their inputs, in any order', () => {
    const noOutputs = (inputs: fx.WireRef[]) => parseQuantum(fx.serializedQuantum({ taskName: 'pkg.CheckTask', inputs: { input: inputs }, outputs: {} }));
    const [i1, i2, i3] = fx.inputRefs();
    const one = deriveQuantumId(noOutputs([i1!, i2!]));
    expect(deriveQuantumId(noOutputs([i2!, i1!]))).toBe(one);
    expect(deriveQuantumId(noOutputs([i1!, i3!]))).not.toBe(one);
  });
});
