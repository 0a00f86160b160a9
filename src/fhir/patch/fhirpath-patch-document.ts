/**
 * Reads a FHIRPath Patch document (fhirpatch.html, profile http://hl7.org/fhir/StructureDefinition/fhirpath-patch):
 * a Parameters resource with one `operation` parameter per step, whose parts are type, path, name, value, index,
 * source and destination. Everything decidable without the resource is checked here, so a malformed document is a
 * 400 before anything is applied. Operation indexes are 0-based, like `Parameters.parameter[i]`.
 */
import { type Atom, DotAtom, FhirPathAtom, parseFhirPath, SymbolAtom } from '@medplum/core';
import { primitiveJsonKind, typeFromChoiceSuffix } from './element-definitions';
import { hasMember, isJsonObject, type JsonObject } from './json-values';
import { describeUnsupportedPath } from './locate-elements';
import { PatchError } from './patch-error';

/** The operation types of fhirpatch.html (ValueSet patch-operation). */
export type FhirPathPatchType = 'add' | 'insert' | 'delete' | 'replace' | 'move';

const TYPES: readonly FhirPathPatchType[] = ['add', 'insert', 'delete', 'replace', 'move'];

const PART_NAMES = ['type', 'path', 'name', 'value', 'index', 'source', 'destination'] as const;

type PartName = (typeof PART_NAMES)[number];

/** The parts of each operation type (all required); any other part is refused. */
const REQUIRED_PARTS: Readonly<Record<FhirPathPatchType, readonly PartName[]>> = {
  add: ['type', 'path', 'name', 'value'],
  insert: ['type', 'path', 'value', 'index'],
  delete: ['type', 'path'],
  replace: ['type', 'path', 'value'],
  move: ['type', 'path', 'source', 'destination'],
};

/** A value to write: a `value[x]` of a known type, a `resource`, or nested `part`s that make up a complex value. */
export type PatchValue =
  | { readonly kind: 'typed'; readonly type: string; readonly json: unknown; readonly location: string }
  | { readonly kind: 'resource'; readonly json: JsonObject; readonly location: string }
  | { readonly kind: 'parts'; readonly parts: readonly NamedPatchValue[]; readonly location: string };

/** One nested part of a complex value: an element name and its value. */
export interface NamedPatchValue {
  readonly name: string;
  readonly value: PatchValue;
}

/** A path with the document location of the part that holds it. */
export interface PatchPath {
  readonly atom: Atom;
  readonly text: string;
  readonly location: string;
}

/** For insert and move: the element owning the list (undefined: the resource) and the list's element name. */
export interface ListPath {
  readonly owner: Atom | undefined;
  readonly name: string;
}

interface OperationCommon {
  /** 0-based position in `Parameters.parameter`. */
  readonly index: number;
  /** `Operation 1 (add)`, the start of every message about this operation. */
  readonly label: string;
  /** `Parameters.parameter[1]`. */
  readonly location: string;
  readonly path: PatchPath;
}

/** One checked operation of the document. */
export type FhirPathPatchOperation =
  | (OperationCommon & {
      readonly type: 'add';
      readonly name: string;
      readonly nameLocation: string;
      readonly value: PatchValue;
    })
  | (OperationCommon & { readonly type: 'insert'; readonly list: ListPath; readonly value: PatchValue; readonly at: PositionPart })
  | (OperationCommon & { readonly type: 'delete' })
  | (OperationCommon & { readonly type: 'replace'; readonly value: PatchValue })
  | (OperationCommon & {
      readonly type: 'move';
      readonly list: ListPath;
      readonly source: PositionPart;
      readonly destination: PositionPart;
    });

/** A list position given by an integer part. */
export interface PositionPart {
  readonly position: number;
  readonly location: string;
}

/**
 * Checks a FHIRPath Patch document and turns it into operations.
 * fhirpatch.html
 * @param patch - The parsed request body.
 * @returns The operations in document order.
 * @throws PatchError 400 naming the first problem and its location in the document.
 */
export function readFhirPathPatch(patch: unknown): FhirPathPatchOperation[] {
  if (!isJsonObject(patch) || patch.resourceType !== 'Parameters') {
    throw new PatchError(400, 'A FHIRPath Patch document must be a Parameters resource', ['Parameters']);
  }
  if (patch.parameter === undefined) {
    return [];
  }
  if (!Array.isArray(patch.parameter)) {
    throw new PatchError(400, 'Parameters.parameter must be an array', ['Parameters.parameter']);
  }
  return patch.parameter.map((parameter: unknown, index) => readOperation(parameter, index));
}

function readOperation(parameter: unknown, index: number): FhirPathPatchOperation {
  const location = `Parameters.parameter[${index}]`;
  const fail: Refusal = (reason, where) => new PatchError(400, `Operation ${index}: ${reason}`, [where]);
  if (!isJsonObject(parameter)) {
    throw fail('a parameter must be an object', location);
  }
  if (parameter.name !== 'operation') {
    throw fail('the parameter name must be "operation"', `${location}.name`);
  }
  const parts = readParts(parameter, location, fail);
  const typePart = parts.get('type');
  const type = TYPES.find((candidate) => candidate === typePart?.json.valueCode);
  if (typePart === undefined || type === undefined) {
    throw fail(`part "type" must be a valueCode, one of ${TYPES.join(', ')}`, typePart?.location ?? location);
  }
  const label = `Operation ${index} (${type})`;
  const refuse: Refusal = (reason, where) => new PatchError(400, `${label}: ${reason}`, [where]);
  for (const [name, part] of parts) {
    if (!REQUIRED_PARTS[type].includes(name)) {
      throw refuse(`part "${name}" is not used by ${type}`, part.location);
    }
  }
  const part = (name: PartName): LocatedPart => {
    const found = parts.get(name);
    if (found === undefined) {
      throw refuse(`part "${name}" is required`, location);
    }
    return found;
  };
  const common = { index, label, location, path: readPath(part('path'), refuse) };
  switch (type) {
    case 'add': {
      const namePart = part('name');
      const name = readElementName(namePart, refuse);
      return { ...common, type, name, nameLocation: namePart.location, value: readValue(part('value'), refuse) };
    }
    case 'insert':
      return {
        ...common,
        type,
        list: splitListPath(common.path, refuse),
        value: readValue(part('value'), refuse),
        at: readPosition(part('index'), refuse),
      };
    case 'delete':
      return { ...common, type };
    case 'replace':
      return { ...common, type, value: readValue(part('value'), refuse) };
    case 'move':
      return {
        ...common,
        type,
        list: splitListPath(common.path, refuse),
        source: readPosition(part('source'), refuse),
        destination: readPosition(part('destination'), refuse),
      };
  }
}

type Refusal = (reason: string, where: string) => PatchError;

interface LocatedPart {
  readonly json: JsonObject;
  readonly location: string;
}

function readParts(parameter: JsonObject, location: string, fail: Refusal): Map<PartName, LocatedPart> {
  if (!Array.isArray(parameter.part) || parameter.part.length === 0) {
    throw fail('an operation needs its parts', location);
  }
  const parts = new Map<PartName, LocatedPart>();
  parameter.part.forEach((json: unknown, position) => {
    const partLocation = `${location}.part[${position}]`;
    const name = isJsonObject(json) ? json.name : undefined;
    const known = PART_NAMES.find((candidate) => candidate === name);
    if (!isJsonObject(json) || known === undefined) {
      throw fail(`unknown part ${JSON.stringify(name)}`, partLocation);
    }
    if (parts.has(known)) {
      throw fail(`part "${known}" appears more than once`, partLocation);
    }
    parts.set(known, { json, location: partLocation });
  });
  return parts;
}

function readPath(part: LocatedPart, refuse: Refusal): PatchPath {
  const text = part.json.valueString;
  if (typeof text !== 'string' || text.trim() === '') {
    throw refuse('part "path" must be a non-empty valueString', part.location);
  }
  let atom: FhirPathAtom;
  try {
    atom = parseFhirPath(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw refuse(`path "${text}" is not valid FHIRPath: ${reason}`, part.location);
  }
  const unsupported = describeUnsupportedPath(atom);
  if (unsupported !== undefined) {
    throw refuse(`path "${text}" cannot be patched: ${unsupported}`, part.location);
  }
  return { atom, text, location: part.location };
}

/** insert and move name a list, so the path must end with an element name: `Patient.name[0].given`. */
function splitListPath(path: PatchPath, refuse: Refusal): ListPath {
  const last = path.atom instanceof FhirPathAtom ? path.atom.child : path.atom;
  if (last instanceof DotAtom && last.right instanceof SymbolAtom) {
    return { owner: last.left, name: last.right.name };
  }
  if (last instanceof SymbolAtom) {
    return { owner: undefined, name: last.name };
  }
  throw refuse(`path "${path.text}" must end with the name of a repeating element`, path.location);
}

function readElementName(part: LocatedPart, refuse: Refusal): string {
  const name = part.json.valueString;
  if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(name)) {
    throw refuse('part "name" must be a valueString holding an element name', part.location);
  }
  return name;
}

function readPosition(part: LocatedPart, refuse: Refusal): PositionPart {
  const position = part.json.valueInteger;
  if (typeof position !== 'number' || !Number.isInteger(position) || position < 0) {
    throw refuse(`part "${String(part.json.name)}" must be a valueInteger of 0 or more`, part.location);
  }
  return { position, location: part.location };
}

function readValue(part: LocatedPart, refuse: Refusal): PatchValue {
  const { json, location } = part;
  const choiceMembers = Object.keys(json).filter((key) => /^value[A-Z]/.test(key));
  const forms = choiceMembers.length + (hasMember(json, 'resource') ? 1 : 0) + (hasMember(json, 'part') ? 1 : 0);
  if (forms !== 1) {
    throw refuse('a value needs exactly one of value[x], resource or part', location);
  }
  const [choiceMember] = choiceMembers;
  if (choiceMember !== undefined) {
    return readTypedValue(choiceMember, json[choiceMember], location, refuse);
  }
  if (hasMember(json, 'resource')) {
    const resource = json.resource;
    if (!isJsonObject(resource) || typeof resource.resourceType !== 'string') {
      throw refuse('resource must be a FHIR resource', location);
    }
    return { kind: 'resource', json: resource, location };
  }
  if (!Array.isArray(json.part) || json.part.length === 0) {
    throw refuse('part must be a non-empty array of parts', location);
  }
  const parts = json.part.map((nested: unknown, position): NamedPatchValue => {
    const nestedLocation = `${location}.part[${position}]`;
    if (!isJsonObject(nested) || typeof nested.name !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(nested.name)) {
      throw refuse('a nested part needs an element name', nestedLocation);
    }
    return { name: nested.name, value: readValue({ json: nested, location: nestedLocation }, refuse) };
  });
  return { kind: 'parts', parts, location };
}

function readTypedValue(member: string, json: unknown, location: string, refuse: Refusal): PatchValue {
  const type = typeFromChoiceSuffix(member.slice('value'.length));
  const kind = primitiveJsonKind(type);
  if (kind === undefined ? !isJsonObject(json) : typeof json !== kind) {
    throw refuse(`${member} must be a JSON ${kind ?? 'object'}`, location);
  }
  return { kind: 'typed', type, json, location };
}
