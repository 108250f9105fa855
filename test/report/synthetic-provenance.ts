/**
 * Native provenance documents of a made-up three-task pipeline over many detectors, with
 * every input and output state the report colours: used, available but not used, missing,
 * never checked, written and not written; long task names and data IDs that cannot fit a
 * graph node.
 */
import { NativeProvenanceSchema, NATIVE_PROVENANCE_SCHEMA_VERSION, type NativeProvenance } from '../../protocol/provenance.js';

const uuid = (kind: number, n: number) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const dataId = (detector: number) => ({ instrument: 'LSSTCam-imSim-with-a-long-instrument-name', detector, visit: 7_000_000 + detector, physical_filter: 'u_sim_1.4' });

const ref = (kind: number, detector: number, datasetType: string, run: string) => ({
  id: uuid(kind, detector),
  datasetType,
  storageClass: 'StructuredDataDict',
  dimensions: ['instrument', 'detector', 'visit', 'physical_filter'],
  dataId: dataId(detector),
  run,
});

type Input = NativeProvenance['inputs'][number];
type Output = NativeProvenance['outputs'][number];

function input(r: ReturnType<typeof ref>, state: Input['state'], at: string): Input {
  return {
    ref: r as Input['ref'],
    initInput: false,
    state,
    checked: state === 'missing' ? 'missing' : state === 'predicted' ? null : 'available',
    loads: state === 'loaded' ? 1 : 0,
    unusedReason: state === 'unused' ? 'rejected by a quality cut on the detector' : null,
    firstUsedAt: state === 'loaded' ? at : null,
  };
}

function output(r: ReturnType<typeof ref>, written: boolean, at: string): Output {
  return { ref: r as Output['ref'], written, size: written ? 1234 : null, sha256: written ? 'ab'.repeat(32) : null, writtenAt: written ? at : null, pruned: false };
}

function doc(q: number, taskName: string, detector: number, host: string, inputs: Input[], outputs: Output[]): NativeProvenance {
  const start = new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + q * 1500);
  const end = new Date(start.getTime() + 300 + ((q * 37) % 2000));
  return NativeProvenanceSchema.parse({
    schemaVersion: NATIVE_PROVENANCE_SCHEMA_VERSION,
    quantum: { id: uuid(0xa, q), taskName, dataId: dataId(detector) },
    execution: { sessionId: `s${q}`, host, pid: 1000 + q, sidecar: { name: 'quantum-butler', version: '0.1.0' }, node: 'v20', startedAt: start.toISOString(), endedAt: end.toISOString() },
    predictedInputs: inputs.map((i) => i.ref.id),
    availableInputs: inputs.filter((i) => i.checked === 'available').map((i) => i.ref.id),
    actualInputs: inputs.filter((i) => i.state === 'loaded').map((i) => i.ref.id),
    predictedOutputs: outputs.map((o) => o.ref.id),
    actualOutputs: outputs.filter((o) => o.written).map((o) => o.ref.id),
    inputs,
    outputs,
    datastoreRecords: {},
    metrics: {},
    diagnostics: [],
  });
}

/** 3 tasks × `detectors` quanta. */
export function syntheticPipeline(detectors: number): NativeProvenance[] {
  const docs: NativeProvenance[] = [];
  let q = 0;
  const at = '2026-01-01T00:00:00.000Z';
  for (let d = 1; d <= detectors; d++) {
    const host = `worker-${(d % 3) + 1}.cluster.example`;
    const raw = ref(1, d, 'raw', 'LSSTCam/raw/all');
    const post = ref(2, d, 'postISRCCD', 'u/someone/run');
    const calexp = ref(3, d, 'calexp', 'u/someone/run');
    const src = ref(4, d, 'src', 'u/someone/run');
    const bias = ref(5, d, 'bias', 'LSSTCam/calib');
    const defects = ref(6, d, 'defects', 'LSSTCam/calib');
    docs.push(doc(++q, 'lsst.ip.isr.isrTask.IsrTaskWithAnUnusuallyLongConfiguredLabel', d, host, [input(raw, 'loaded', at), input(bias, d % 5 === 0 ? 'unused' : 'loaded', at), input(defects, d % 7 === 0 ? 'missing' : 'predicted', at)], [output(post, true, at)]));
    docs.push(doc(++q, 'lsst.pipe.tasks.calibrate.CalibrateTask', d, host, [input(post, 'loaded', at)], [output(calexp, d % 4 !== 0, at), output(src, d % 6 !== 0, at)]));
    if (d % 4 !== 0) docs.push(doc(++q, 'lsst.pipe.tasks.characterize.Summarize', d, host, [input(calexp, 'loaded', at)], []));
  }
  return docs;
}
