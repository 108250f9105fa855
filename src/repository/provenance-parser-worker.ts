/**
 * Entry point of a provenance parser thread (see provenance-parsers.ts): reads the documents
 * of each request and answers with what collect-and-transfer uses of them, or with the first
 * that failed.
 */
import { parentPort } from 'node:worker_threads';
import { packProvenance, readProvenanceText } from './provenance-documents.js';
import { parseFailure, type ParseReply, type ParseRequest } from './provenance-parsers.js';

const port = parentPort!;
port.on('message', (req: ParseRequest) => {
  const docs: string[] = [];
  const ends = new Array<number>(req.texts.length);
  const quantumIds = new Array<string | null>(req.texts.length);
  let end = 0;
  for (let i = 0; i < req.texts.length; i++) {
    const text = req.texts[i];
    if (text === null || text === undefined) {
      ends[i] = end;
      quantumIds[i] = null;
      continue;
    }
    try {
      const read = readProvenanceText(text, req.start + i);
      const packed = packProvenance(read);
      docs.push(packed);
      end += packed.length;
      ends[i] = end;
      quantumIds[i] = read.quantumId;
    } catch (err) {
      port.postMessage({ start: req.start, failed: parseFailure(err, req.start + i) } satisfies ParseReply);
      return;
    }
  }
  port.postMessage({ start: req.start, docs: docs.join(''), ends, quantumIds } satisfies ParseReply);
});
