/**
 * FHIRPath Patch (fhirpatch.html) for the FHIR patch interaction (http.html#patch): applies the operations of a
 * Parameters document to a copy of the resource, all or none. Rules from the spec table: the path must match exactly
 * one element, except that delete of nothing is a no-op; add appends to a repeating element or sets an absent single
 * one; insert and move work within one list by 0-based index; values must have the element's type.
 * Decisions: a path that matches no element or several is 422, as is a value of the wrong type; replace and delete
 * take a primitive's id and extensions with it; resourceType and id cannot change (422); meta.versionId and
 * meta.lastUpdated are restored because the server assigns them (server-managed-elements.ts).
 */
import type { Atom } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { type ElementInfo, findElement, jsonMemberName, primitiveJsonKind } from './element-definitions';
import { ensureChildHolder, insertIntoList, listAt, moveInList, removeFromSlot, replaceInSlot } from './element-slots';
import type { FhirPathPatchOperation, ListPath, NamedPatchValue, PatchValue } from './fhirpath-patch-document';
import { readFhirPathPatch } from './fhirpath-patch-document';
import { hasMember, type JsonObject } from './json-values';
import { type LocatedElement, locateElements, type Slot } from './locate-elements';
import { PatchError } from './patch-error';
import { findChangedIdentity, restoreVersionMeta } from './server-managed-elements';

/**
 * Applies a FHIRPath Patch document to a copy of a resource.
 * fhirpatch.html
 * @param resource - The current version; never mutated.
 * @param patch - The parsed request body, a Parameters resource.
 * @returns The patched copy, with the original meta.versionId and meta.lastUpdated.
 * @throws PatchError 400 for a malformed document, 422 for an operation that cannot be applied.
 */
export function applyFhirPathPatch(resource: Resource, patch: unknown): Resource {
  const operations = readFhirPathPatch(patch);
  const working: JsonObject = { ...structuredClone(resource) };
  for (const operation of operations) {
    applyOperation({ working, resourceType: resource.resourceType, operation });
    const changed = findChangedIdentity(resource, working);
    if (changed !== undefined) {
      throw refuse(operation, `${changed} cannot be changed by a patch`, operation.location);
    }
  }
  const result = working as unknown as Resource;
  restoreVersionMeta(resource, result);
  return result;
}

/** One operation and the working copy it applies to. */
interface Step {
  readonly working: JsonObject;
  readonly resourceType: string;
  readonly operation: FhirPathPatchOperation;
}

function applyOperation(step: Step): void {
  const { operation } = step;
  switch (operation.type) {
    case 'add': {
      const target = selectOne(step);
      const element = findElement(target.type, operation.name);
      if (element === undefined) {
        throw refuse(operation, `${target.type} has no element "${operation.name}"`, operation.nameLocation);
      }
      const { key, json } = materialize(element, operation.name, operation.value, undefined, operation);
      if (!putValue(ensureChildHolder(target), element, key, json)) {
        throw refuse(operation, `${element.path} already has a value; use replace`, operation.nameLocation);
      }
      return;
    }
    case 'insert': {
      const { holder, element, list } = selectList(step, operation.list);
      checkPosition(operation, operation.at.position, list.length, operation.at.location);
      const { key, json } = materialize(element, element.name, operation.value, undefined, operation);
      insertIntoList(holder, key, operation.at.position, json);
      return;
    }
    case 'move': {
      const { holder, element, list } = selectList(step, operation.list);
      checkPosition(operation, operation.source.position, list.length - 1, operation.source.location);
      checkPosition(operation, operation.destination.position, list.length - 1, operation.destination.location);
      moveInList(holder, element.name, operation.source.position, operation.destination.position);
      return;
    }
    case 'delete': {
      const matches = locate(step, operation.path.atom);
      if (matches.length > 1) {
        throw matchError(operation, matches.length);
      }
      const [match] = matches;
      if (match !== undefined) {
        removeFromSlot(slotOf(match, operation));
      }
      return;
    }
    case 'replace': {
      const target = selectOne(step);
      const slot = slotOf(target, operation);
      const { key, json } = materialize(slot.element, slot.element.name, operation.value, target.type, operation);
      replaceInSlot(slot, key, json);
      return;
    }
  }
}

function refuse(operation: FhirPathPatchOperation, reason: string, location = operation.path.location): PatchError {
  return new PatchError(422, `${operation.label}: ${reason}`, [location]);
}

function locate(step: Step, path: Atom): LocatedElement[] {
  try {
    return locateElements(path, step.working, step.resourceType);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw refuse(step.operation, `path ${step.operation.path.text} could not be evaluated: ${reason}`);
  }
}

function selectOne(step: Step): LocatedElement {
  const matches = locate(step, step.operation.path.atom);
  const [only] = matches;
  if (only === undefined || matches.length > 1) {
    throw matchError(step.operation, matches.length);
  }
  return only;
}

function matchError(operation: FhirPathPatchOperation, count: number): PatchError {
  const found = count === 0 ? 'matched no element' : `matched ${count} elements`;
  return refuse(operation, `path ${operation.path.text} ${found}; ${operation.type} needs exactly one`);
}

/** The resource itself has no slot: it can be neither deleted nor replaced by a patch. */
function slotOf(element: LocatedElement, operation: FhirPathPatchOperation): Slot {
  if (element.slot === undefined) {
    throw refuse(operation, `the resource itself cannot be ${operation.type === 'delete' ? 'deleted' : 'replaced'} by a patch`);
  }
  return element.slot;
}

interface SelectedList {
  readonly holder: JsonObject;
  readonly element: ElementInfo;
  readonly list: readonly unknown[];
}

/** insert and move address a list through its owner, so that an empty or absent list can still be inserted into. */
function selectList(step: Step, path: ListPath): SelectedList {
  const { operation } = step;
  const resource: LocatedElement = { value: step.working, type: step.resourceType, slot: undefined };
  const owners = path.owner === undefined ? [resource] : locate(step, path.owner);
  const [owner] = owners;
  if (owner === undefined || owners.length > 1) {
    const found = owners.length === 0 ? 'no element' : `${owners.length} elements`;
    const reason = `the owner of ${path.name} in ${operation.path.text} matched ${found}; ${operation.type} needs exactly one`;
    throw refuse(operation, reason);
  }
  const element = findElement(owner.type, path.name);
  if (element === undefined || !element.isArray) {
    throw refuse(operation, `${operation.path.text} is not a repeating element of ${owner.type}`);
  }
  const holder = ensureChildHolder(owner);
  return { holder, element, list: listAt(holder, element.name) };
}

function checkPosition(operation: FhirPathPatchOperation, position: number, highest: number, location: string): void {
  if (position > highest) {
    const range = highest < 0 ? 'the list is empty' : `the highest allowed is ${highest}`;
    throw refuse(operation, `index ${position} is out of range for ${operation.path.text}: ${range}`, location);
  }
}

/**
 * Turns a patch value into the JSON for an element, checking its type (fhirpatch.html: "Servers SHALL return an error
 * if the type is wrong"). Primitive types that share a JSON kind are accepted for each other (a code sent as
 * valueString); the validator that runs on the patched resource checks their formats.
 * @param currentType - For replace, the type of the value being replaced, which picks the type of a parts value
 *   for a choice element.
 */
function materialize(
  element: ElementInfo,
  writtenName: string,
  value: PatchValue,
  currentType: string | undefined,
  operation: FhirPathPatchOperation,
): { key: string; json: unknown } {
  const allowed = element.types.join(' | ');
  switch (value.kind) {
    case 'typed': {
      const fits = (candidate: string): boolean => (element.isChoice ? candidate === value.type : fitsType(value.type, candidate));
      const type = element.types.find(fits);
      const key = type === undefined ? undefined : jsonMemberName(element, type);
      if (key === undefined || (writtenName !== element.name && writtenName !== key)) {
        throw refuse(operation, `a value of type ${value.type} does not fit ${element.path} (${allowed})`, value.location);
      }
      return { key, json: structuredClone(value.json) };
    }
    case 'resource':
      if (!element.types.includes('Resource')) {
        throw refuse(operation, `a resource does not fit ${element.path} (${allowed})`, value.location);
      }
      return { key: element.name, json: structuredClone(value.json) };
    case 'parts': {
      const complexTypes = element.types.filter((type) => primitiveJsonKind(type) === undefined && type !== 'Resource');
      const type = complexTypes.length === 1 ? complexTypes[0] : complexTypes.find((candidate) => candidate === currentType);
      if (type === undefined) {
        const reason = `a value given as parts needs one complex type, but ${element.path} is ${allowed}; use value[x]`;
        throw refuse(operation, reason, value.location);
      }
      return { key: jsonMemberName(element, type), json: buildComplexValue(type, value.parts, operation) };
    }
  }
}

function fitsType(valueType: string, elementType: string): boolean {
  const kind = primitiveJsonKind(valueType);
  return valueType === elementType || (kind !== undefined && kind === primitiveJsonKind(elementType));
}

function buildComplexValue(type: string, parts: readonly NamedPatchValue[], operation: FhirPathPatchOperation): JsonObject {
  const built: JsonObject = {};
  for (const part of parts) {
    const element = findElement(type, part.name);
    if (element === undefined) {
      throw refuse(operation, `${type} has no element "${part.name}"`, part.value.location);
    }
    const { key, json } = materialize(element, part.name, part.value, undefined, operation);
    if (!putValue(built, element, key, json)) {
      throw refuse(operation, `${element.path} is given more than once`, part.value.location);
    }
  }
  return built;
}

/**
 * Appends to a repeating element, or sets a single one that has no value yet.
 * @returns False when a single-valued element (of any of its choice types) already has a value.
 */
function putValue(holder: JsonObject, element: ElementInfo, key: string, json: unknown): boolean {
  if (element.isArray) {
    insertIntoList(holder, key, listAt(holder, key).length, json);
    return true;
  }
  if (element.types.some((type) => hasMember(holder, jsonMemberName(element, type)))) {
    return false;
  }
  holder[key] = json;
  return true;
}
