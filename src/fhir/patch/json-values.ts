/**
 * Patch documents arrive as parsed but unchecked JSON; these narrowings let the patch code inspect them without
 * casts. (RFC 8259 value kinds, as FHIR JSON uses them: json.html.)
 */

/** A parsed JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/**
 * Narrows an unknown JSON value to an object.
 * @param value - Any parsed JSON value.
 * @returns True for a plain JSON object.
 */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tells whether an object has a member of its own (never one inherited from Object.prototype).
 * @param object - The object to inspect.
 * @param key - The member name.
 * @returns True when the member is present, even if its value is null.
 */
export function hasMember(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}
