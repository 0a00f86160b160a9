/**
 * Finds the places a FHIRPath Patch path points to in the resource JSON (fhirpatch.html). Evaluating the path with
 * Medplum yields values, but a patch needs places: the object, member and array index that hold each value, which
 * an evaluated primitive (a birthDate string) cannot reveal. So this walks the navigation steps of the parsed path
 * itself (type name, element names, `[index]`, `as`, and the subsetting functions where, first, last, tail, skip,
 * take, single, ofType and extension) over located elements, and hands every criterion and argument to Medplum's
 * FHIRPath evaluator. Other expressions (operators, other functions) do not name elements; the document reader
 * refuses them up front with describeUnsupportedPath().
 */
import {
  AsAtom,
  type Atom,
  DotAtom,
  evalFhirPathTyped,
  FhirPathAtom,
  FunctionAtom,
  IndexerAtom,
  SymbolAtom,
  toJsBoolean,
  type TypedValue,
} from '@medplum/core';
import { type ElementInfo, findElement, jsonMemberName } from './element-definitions';
import { hasMember, isJsonObject, type JsonObject } from './json-values';

/** A value of the resource together with the place that holds it. */
export interface LocatedElement {
  readonly value: unknown;
  /** FHIR type code, e.g. `HumanName`, `date`, `PatientContact`. */
  readonly type: string;
  /** Undefined for the resource itself. */
  readonly slot: Slot | undefined;
}

/** Where a value lives: `holder[key]`, or `holder[key][index]` for a repeating element. */
export interface Slot {
  /** The owner's object, or for a primitive owner its `_name` companion object (json.html#primitive). */
  readonly holder: JsonObject;
  readonly owner: LocatedElement;
  readonly element: ElementInfo;
  readonly key: string;
  readonly index: number | undefined;
}

/** Functions that select a subset of their input, with their argument count. */
const SUBSETTING_FUNCTIONS: Readonly<Record<string, number>> = {
  where: 1,
  first: 0,
  last: 0,
  tail: 0,
  skip: 1,
  take: 1,
  single: 0,
  ofType: 1,
  extension: 1,
};

/**
 * Explains why a path cannot be used to locate elements, if it cannot.
 * @param path - The parsed path.
 * @returns A reason naming the offending part, or undefined when every step navigates.
 */
export function describeUnsupportedPath(path: Atom): string | undefined {
  if (path instanceof FhirPathAtom) {
    return describeUnsupportedPath(path.child);
  }
  if (path instanceof SymbolAtom) {
    const isVariable = /^[%$]/.test(path.name) && path.name !== '$this';
    return isVariable ? `variable ${path.name} is not supported in a patch path` : undefined;
  }
  if (path instanceof DotAtom) {
    return describeUnsupportedPath(path.left) ?? describeUnsupportedPath(path.right);
  }
  if (path instanceof IndexerAtom) {
    return describeUnsupportedPath(path.left);
  }
  if (path instanceof AsAtom) {
    return path.right instanceof SymbolAtom ? describeUnsupportedPath(path.left) : `"${path.toString()}" needs a type name`;
  }
  if (path instanceof FunctionAtom) {
    const arity = SUBSETTING_FUNCTIONS[path.name];
    if (arity === undefined) {
      return `function ${path.name}() does not select elements of the resource`;
    }
    if (path.args.length !== arity) {
      return `function ${path.name}() takes ${arity} argument${arity === 1 ? '' : 's'}`;
    }
    return path.name === 'ofType' && !(path.args[0] instanceof SymbolAtom) ? 'ofType() needs a type name' : undefined;
  }
  return `"${path.toString()}" does not select elements of the resource`;
}

/**
 * Evaluates a path to the elements it selects, in FHIRPath order.
 * @param path - A parsed path that describeUnsupportedPath() accepted.
 * @param resource - The resource JSON (the working copy).
 * @param resourceType - Its type.
 * @returns The located elements; empty when nothing matches.
 * @throws Error when a criterion or argument cannot be evaluated (e.g. single() over several elements).
 */
export function locateElements(path: Atom, resource: JsonObject, resourceType: string): LocatedElement[] {
  const root: LocatedElement = { value: resource, type: resourceType, slot: undefined };
  return navigate(path, [root], root);
}

/**
 * Lists the children of an element under one element name, following choice types and the primitive companion.
 * @param parent - The element to look into.
 * @param name - An element name, e.g. `identifier` or `deceased`.
 * @returns The children, in array order.
 */
export function locateChildren(parent: LocatedElement, name: string): LocatedElement[] {
  const element = findElement(parent.type, name);
  const holder = childHolder(parent);
  if (element === undefined || holder === undefined) {
    return [];
  }
  // A choice element named with its type (`deceasedBoolean`) only matches that type's member.
  const match = element.types
    .map((typeName) => ({ typeName, key: jsonMemberName(element, typeName) }))
    .find(({ key }) => (name === element.name || name === key) && hasMember(holder, key));
  if (match === undefined) {
    return [];
  }
  const { typeName, key } = match;
  const content = holder[key];
  const located = (value: unknown, index: number | undefined): LocatedElement => ({
    value,
    type: typeOfValue(typeName, value),
    slot: { holder, owner: parent, element, key, index },
  });
  if (Array.isArray(content)) {
    return content.flatMap((value: unknown, index) => (value === null ? [] : [located(value, index)]));
  }
  return content === undefined || content === null ? [] : [located(content, undefined)];
}

/**
 * The object that holds an element's children: the element itself, or for a primitive its `_name` companion.
 * @param element - A located element.
 * @returns The holder, or undefined when a primitive has no companion (yet).
 */
export function childHolder(element: LocatedElement): JsonObject | undefined {
  if (isJsonObject(element.value)) {
    return element.value;
  }
  const slot = element.slot;
  if (slot === undefined) {
    return undefined;
  }
  const companion = slot.holder[`_${slot.key}`];
  if (slot.index === undefined) {
    return isJsonObject(companion) ? companion : undefined;
  }
  const entry: unknown = Array.isArray(companion) ? companion[slot.index] : undefined;
  return isJsonObject(entry) ? entry : undefined;
}

function typeOfValue(typeName: string, value: unknown): string {
  if (typeName === 'Resource' && isJsonObject(value) && typeof value.resourceType === 'string') {
    return value.resourceType;
  }
  return typeName;
}

function navigate(atom: Atom, input: LocatedElement[], root: LocatedElement): LocatedElement[] {
  if (atom instanceof FhirPathAtom) {
    return navigate(atom.child, input, root);
  }
  if (atom instanceof SymbolAtom) {
    return input.flatMap((element) => (isNamed(element, atom.name) ? [element] : locateChildren(element, atom.name)));
  }
  if (atom instanceof DotAtom) {
    return navigate(atom.right, navigate(atom.left, input, root), root);
  }
  if (atom instanceof IndexerAtom) {
    const selected = navigate(atom.left, input, root)[evaluateInteger(atom.expr, root, 'an index')];
    return selected === undefined ? [] : [selected];
  }
  if (atom instanceof AsAtom) {
    return navigate(atom.left, input, root).filter((element) => element.type === symbolName(atom.right));
  }
  if (atom instanceof FunctionAtom) {
    return applyFunction(atom, input, root);
  }
  throw new Error(`"${atom.toString()}" does not select elements of the resource`);
}

/** FHIRPath lets a type name select a resource of that type, as in `Patient.name`. */
function isNamed(element: LocatedElement, name: string): boolean {
  return name === '$this' || (isJsonObject(element.value) && element.value.resourceType === name);
}

function applyFunction(atom: FunctionAtom, input: LocatedElement[], root: LocatedElement): LocatedElement[] {
  const argument = atom.args[0];
  switch (atom.name) {
    case 'where':
      return input.filter((element) => argument !== undefined && isTrue(argument, element, root));
    case 'first':
      return input.slice(0, 1);
    case 'last':
      return input.slice(-1);
    case 'tail':
      return input.slice(1);
    case 'skip':
      return input.slice(Math.max(0, evaluateInteger(argument, root, 'skip()')));
    case 'take':
      return input.slice(0, Math.max(0, evaluateInteger(argument, root, 'take()')));
    case 'single':
      if (input.length > 1) {
        throw new Error(`single() found ${input.length} elements`);
      }
      return input;
    case 'ofType':
      return input.filter((element) => element.type === symbolName(argument));
    case 'extension': {
      const url = evaluate(argument, [typedValue(root)], root)[0]?.value;
      return input
        .flatMap((element) => locateChildren(element, 'extension'))
        .filter((extension) => isJsonObject(extension.value) && extension.value.url === url);
    }
    default:
      throw new Error(`function ${atom.name}() does not select elements of the resource`);
  }
}

function isTrue(criterion: Atom, element: LocatedElement, root: LocatedElement): boolean {
  return toJsBoolean(evaluate(criterion, [typedValue(element)], root));
}

function evaluateInteger(atom: Atom | undefined, root: LocatedElement, purpose: string): number {
  const value: unknown = evaluate(atom, [typedValue(root)], root)[0]?.value;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new Error(`${purpose} must be an integer`);
  }
  return value;
}

function evaluate(atom: Atom | undefined, input: TypedValue[], root: LocatedElement): TypedValue[] {
  if (atom === undefined) {
    return [];
  }
  const resource = typedValue(root);
  const variables = { '%resource': resource, '%rootResource': resource };
  return evalFhirPathTyped(new FhirPathAtom(atom.toString(), atom), input, variables);
}

function typedValue(element: LocatedElement): TypedValue {
  return { type: element.type, value: element.value };
}

function symbolName(atom: Atom | undefined): string | undefined {
  return atom instanceof SymbolAtom ? atom.name : undefined;
}
