/**
 * The one vocabulary shared by write-time extraction and query building (DESIGN.md "Storage": search values are
 * computed at write time). Equality-searchable values of every parameter are stored as strings in one multikey
 * field, `<code>=<kind>:<value>`, so every token, reference, uri and string search is a lookup in one index; the
 * bare `<code>` marks that the parameter has a value (`:missing`). search.html#token, #reference, #string, #uri
 */

/**
 * Strings are compared ignoring case, accents and punctuation, with whitespace runs as one space
 * (search.html#string: "Punctuation and non-significant whitespace ... should also be ignored").
 */
export function normalizeString(value: string): string {
  return value.normalize('NFD').replace(/[\p{M}\p{P}]/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Longer values are cut in index keys (a prefix search on a 1 KB string is not a use case; keys stay small). */
export const MAX_KEY_VALUE = 1024;

function key(code: string, kind: string, value: string): string {
  return `${code}=${kind}:${value.length > MAX_KEY_VALUE ? value.slice(0, MAX_KEY_VALUE) : value}`;
}

/** The key saying that `code` has at least one value. */
export function presenceKey(code: string): string {
  return code;
}

/** A string value, matched by prefix (default) or :contains on its normalized form. */
export function stringKey(code: string, normalized: string): string {
  return key(code, 's', normalized);
}

/** A string value as written, for :exact. */
export function exactKey(code: string, value: string): string {
  return key(code, 'x', value);
}

/**
 * The keys a coded value is stored under, one per query form (search.html#token): `code` (any system),
 * `system|code`, `|code` (no system) and `system|`.
 */
export function tokenKeys(code: string, system: string | undefined, value: string | undefined, prefix = 't'): string[] {
  const keys: string[] = [];
  if (value !== undefined) {
    keys.push(key(code, `${prefix}c`, value));
    keys.push(system === undefined ? key(code, `${prefix}n`, value) : key(code, `${prefix}s`, `${system}|${value}`));
  }
  if (system !== undefined) keys.push(key(code, `${prefix}y`, system));
  return keys;
}

/** The key answering one token query form: `code`, `system|code`, `|code` or `system|`. */
export function tokenQueryKey(code: string, system: string | undefined, value: string | undefined, prefix = 't'): string {
  if (system === undefined) return key(code, `${prefix}c`, value ?? '');
  if (value === undefined) return key(code, `${prefix}y`, system);
  return system === '' ? key(code, `${prefix}n`, value) : key(code, `${prefix}s`, `${system}|${value}`);
}

/** The display text of a coded value (Coding.display, CodeableConcept.text), for :text. */
export function tokenTextKey(code: string, normalized: string): string {
  return key(code, 'tt', normalized);
}

/** An identifier with its type, for `identifier:of-type=typeSystem|typeCode|value`. */
export function identifierTypeKey(code: string, typeSystem: string, typeCode: string, value: string): string {
  return key(code, 'to', `${typeSystem}|${typeCode}|${value}`);
}

/** A reference: `Type/id` for resources on this server, the URL as written otherwise (absolute, canonical). */
export function referenceKey(code: string, reference: string): string {
  return key(code, 'r', reference);
}

/** Keys of a logical reference's identifier (`:identifier`), in the token forms. */
export function referenceIdentifierKeys(code: string, system: string | undefined, value: string | undefined): string[] {
  return tokenKeys(code, system, value, 'ri');
}

export function referenceIdentifierQueryKey(code: string, system: string | undefined, value: string | undefined): string {
  return tokenQueryKey(code, system, value, 'ri');
}

export function uriKey(code: string, uri: string): string {
  return key(code, 'u', uri);
}

/** The prefix shared by every key of one kind of a parameter, for prefix scans. */
export function keyPrefix(code: string, kind: 's' | 'tt' | 'u' | 'r'): string {
  return `${code}=${kind}:`;
}
