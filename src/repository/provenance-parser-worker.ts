/**
 * Entry point of a provenance parser thread (see provenance-parsers.ts): reads the documents
 * of each request and answers with what collect-and-transfer uses of them, or with the first
 * that failed.
 */
import { parentPort } from 'node:worker_threads';
import { readProvenanceText, type ReadProvenance } from './provenance-documents.js';
import { parseFailure, type ParseReply, type ParseRequest } from './provenance-parsers.js';

const port = parentPort!;
port.on('message', (req: ParseRequest) => {
  const docs = new Array<ReadProvenance | null>(req.texts.length);
  for (let i = 0; i < req.texts.length; i++) {
    const text = req.texts[i];
    if (text === null || text === undefined) {
      docs[i] = null;
      continue;
    }
    try {
      docs[i] = readProvenanceText(text, req.start + i);
    } catch (err) {
      port.postMessage({ start: req.start, failed: parseFailure(err, req.start + i) } satisfies ParseReply);
      return;
    }
  }
  port.postMessage({ start: req.start, docs } satisfies ParseReply);
});
