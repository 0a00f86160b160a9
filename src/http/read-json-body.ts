/**
 * Reads a request body with a size limit (413 beyond it) and parses JSON with precise 400 errors, refusing
 * pathologically deep nesting before it can exhaust the stack.
 */
import type { IncomingMessage } from 'node:http';
import { FhirError } from '../errors';

/** Deeper than any FHIR resource needs; deeper documents are rejected as malformed. */
const MAX_DEPTH = 100;

async function readRaw(stream: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(stream.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(limit: number): FhirError {
  return new FhirError('too-large', `The request body exceeds the limit of ${limit} bytes`);
}

/** The deepest nesting of arrays and objects in JSON text, counted without parsing. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** The parsed JSON body (or the raw text with `raw`); an empty body is undefined. */
export async function readJsonBody(stream: IncomingMessage, limit: number, options: { raw?: boolean } = {}): Promise<unknown> {
  const text = await readRaw(stream, limit);
  if (options.raw) return text;
  if (text.trim().length === 0) return undefined;
  if (nestingDepth(text) > MAX_DEPTH) {
    throw new FhirError('invalid', `The request body nests deeper than ${MAX_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FhirError('invalid', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}
