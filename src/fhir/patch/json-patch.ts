/**
 * JSON Patch (RFC 6902, `application/json-patch+json`) for the FHIR patch interaction (http.html#patch).
 * The `rfc6902` library performs the operations; this file checks the document first (400) and resolves every
 * pointer strictly against the working copy before the library runs (422), because the library is lenient where
 * FHIR must not be (non-canonical array indexes, children of primitives, out-of-range indexes).
 * Decisions: operation indexes are 0-based, like the pointers into the patch document; the root pointer "" may only
 * be tested (replacing the whole resource is an update); resourceType and id cannot change (422); changes to
 * meta.versionId and meta.lastUpdated are discarded because the server assigns both (server-managed-elements.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import { Pointer, type Operation } from 'rfc6902';
import { apply } from 'rfc6902/patch';
import { hasMember, isJsonObject } from './json-values';
import { PatchError } from './patch-error';
import { findChangedIdentity, restoreVersionMeta } from './server-managed-elements';

type JsonPatchOp = Operation['op'];

const OPS: readonly JsonPatchOp[] = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

/** Member names that would reach Object.prototype; no FHIR element is called this. */
const RESERVED_TOKENS = new Set(['__proto__', 'constructor', 'prototype']);

/** One operation after the document checks, with its pointers split into unescaped tokens. */
interface CheckedOperation {
  readonly index: number;
  readonly operation: Operation;
  readonly pathTokens: readonly string[];
  readonly fromTokens: readonly string[];
}

/** How the last token of a pointer must resolve. */
type Resolution = 'existing' | 'insertable';

/**
 * Applies a JSON Patch document to a copy of a resource, all operations or none.
 * http.html#patch, RFC 6902
 * @param resource - The current version; never mutated.
 * @param patch - The parsed request body.
 * @returns The patched copy, with the original meta.versionId and meta.lastUpdated.
 * @throws PatchError 400 for a malformed document, 422 for an operation that cannot be applied.
 */
export function applyJsonPatch(resource: Resource, patch: unknown): Resource {
  const operations = checkDocument(patch);
  const working: unknown = structuredClone(resource);
  for (const checked of operations) {
    applyOperation(working, checked);
    const changed = findChangedIdentity(resource, working);
    if (changed !== undefined) {
      throw operationError(checked, 422, `${changed} cannot be changed by a patch`, 'path');
    }
  }
  const patched = working as Resource;
  restoreVersionMeta(resource, patched);
  return patched;
}

function checkDocument(patch: unknown): CheckedOperation[] {
  if (!Array.isArray(patch)) {
    throw new PatchError(400, 'A JSON Patch document must be an array of operations', ['']);
  }
  return patch.map((entry: unknown, index) => checkOperation(entry, index));
}

function checkOperation(entry: unknown, index: number): CheckedOperation {
  if (!isJsonObject(entry)) {
    throw new PatchError(400, `Operation ${index} must be an object`, [`/${index}`]);
  }
  const op = OPS.find((candidate) => candidate === entry.op);
  if (op === undefined) {
    throw new PatchError(400, `Operation ${index}: op must be one of ${OPS.join(', ')}`, [`/${index}/op`]);
  }
  const label = `Operation ${index} (${op})`;
  const path = checkPointer(entry.path, `${label}: path`, `/${index}/path`);
  const needsFrom = op === 'move' || op === 'copy';
  const from = needsFrom ? checkPointer(entry.from, `${label}: from`, `/${index}/from`) : '';
  const needsValue = op === 'add' || op === 'replace' || op === 'test';
  if (needsValue && !hasMember(entry, 'value')) {
    throw new PatchError(400, `${label}: value is required`, [`/${index}`]);
  }
  const pathTokens = splitPointer(path);
  const fromTokens = splitPointer(from);
  if (op === 'move' && isProperPrefix(fromTokens, pathTokens)) {
    throw new PatchError(400, `${label}: cannot move ${from} into its own child ${path}`, [`/${index}/from`]);
  }
  const operation = { op, path, from, value: entry.value } as Operation;
  return { index, operation, pathTokens, fromTokens };
}

function checkPointer(pointer: unknown, subject: string, location: string): string {
  if (typeof pointer !== 'string') {
    throw new PatchError(400, `${subject} must be a JSON pointer string`, [location]);
  }
  if ((pointer !== '' && !pointer.startsWith('/')) || /~(?![01])/.test(pointer)) {
    throw new PatchError(400, `${subject} "${pointer}" is not a valid JSON pointer (RFC 6901)`, [location]);
  }
  const reserved = splitPointer(pointer).find((token) => RESERVED_TOKENS.has(token));
  if (reserved !== undefined) {
    throw new PatchError(400, `${subject} "${pointer}" names "${reserved}", which is not a FHIR element`, [location]);
  }
  return pointer;
}

function splitPointer(pointer: string): string[] {
  return Pointer.fromJSON(pointer).tokens.slice(1);
}

function isProperPrefix(prefix: readonly string[], tokens: readonly string[]): boolean {
  return prefix.length < tokens.length && prefix.every((token, i) => token === tokens[i]);
}

function applyOperation(working: unknown, checked: CheckedOperation): void {
  const { operation } = checked;
  switch (operation.op) {
    case 'add':
      resolve(working, checked, 'path', 'insertable');
      break;
    case 'remove':
    case 'replace':
    case 'test':
      resolve(working, checked, 'path', 'existing');
      break;
    case 'copy':
      resolve(working, checked, 'from', 'existing');
      resolve(working, checked, 'path', 'insertable');
      break;
    case 'move': {
      // RFC 6902 section 4.4 defines move as remove-then-add, so the target is checked without the moved value.
      resolve(working, checked, 'from', 'existing');
      const value: unknown = Pointer.fromJSON(operation.from).get(working);
      runLibrary(working, { op: 'remove', path: operation.from }, checked);
      resolve(working, checked, 'path', 'insertable');
      runLibrary(working, { op: 'add', path: operation.path, value }, checked);
      return;
    }
  }
  runLibrary(working, operation, checked);
}

/** Walks a pointer through the working copy with RFC 6901 rules and throws 422 where it does not resolve. */
function resolve(working: unknown, checked: CheckedOperation, member: 'path' | 'from', resolution: Resolution): void {
  const tokens = member === 'path' ? checked.pathTokens : checked.fromTokens;
  const pointer = member === 'path' ? checked.operation.path : fromOf(checked.operation);
  const { op } = checked.operation;
  const rootAllowed = (member === 'path' && op === 'test') || (member === 'from' && op === 'copy');
  if (tokens.length === 0 && !rootAllowed) {
    throw operationError(checked, 422, `${member} "" addresses the whole resource; replace it with an update instead`, member);
  }
  let node = working;
  for (const [position, token] of tokens.entries()) {
    const last = position === tokens.length - 1;
    if (Array.isArray(node)) {
      const limit = last && resolution === 'insertable' ? node.length : node.length - 1;
      if (last && resolution === 'insertable' && token === '-') {
        return;
      }
      if (!/^(0|[1-9][0-9]*)$/.test(token)) {
        throw operationError(checked, 422, `${member} ${pointer} does not exist: "${token}" is not an array index`, member);
      }
      if (Number(token) > limit) {
        const parent = pointerOf(tokens.slice(0, position));
        const size = `${node.length} element${node.length === 1 ? '' : 's'}`;
        throw operationError(checked, 422, `${member} ${pointer} does not exist: ${parent} has ${size}`, member);
      }
      node = node[Number(token)];
    } else if (isJsonObject(node)) {
      if (last && resolution === 'insertable') {
        return;
      }
      if (!hasMember(node, token)) {
        throw operationError(checked, 422, `${member} ${pointer} does not exist`, member);
      }
      node = node[token];
    } else {
      const parent = pointerOf(tokens.slice(0, position));
      throw operationError(checked, 422, `${member} ${pointer} does not exist: ${parent} is not an object or array`, member);
    }
  }
}

function fromOf(operation: Operation): string {
  return operation.op === 'move' || operation.op === 'copy' ? operation.from : '';
}

function pointerOf(tokens: readonly string[]): string {
  return tokens.length === 0 ? 'the resource' : new Pointer(['', ...tokens]).toString();
}

/**
 * Runs one library operation; after resolve() only a failed test can still be refused. The library's errors are
 * compiled to ES5 classes, which `instanceof` cannot recognise, so they are told apart by name.
 */
function runLibrary(working: unknown, operation: Operation, checked: CheckedOperation): void {
  const failure = apply(working, operation);
  if (failure?.name === 'TestError') {
    throw operationError(checked, 422, `value at ${checked.operation.path} is not the expected value`, 'value');
  }
  if (failure !== null) {
    throw operationError(checked, 422, failure.message, 'path');
  }
}

function operationError(checked: CheckedOperation, status: 400 | 422, reason: string, member: string): PatchError {
  const { index, operation } = checked;
  return new PatchError(status, `Operation ${index} (${operation.op}): ${reason}`, [`/${index}/${member}`]);
}
