/**
 * Copies the plain structure of a document (objects and arrays) while sharing BSON value instances, which are
 * never changed in place. Updates work on such a copy because stored documents must never be mutated.
 */
import { isSubdocument } from './field-paths';

export function cloneDocument<T>(value: T): T {
  if (Array.isArray(value)) return value.map((element) => cloneDocument(element)) as T;
  if (isSubdocument(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = cloneDocument(value[key]);
    return out as T;
  }
  return value;
}

/** Returns the document with `_id` as its first field, as mongod stores it. */
export function withIdFirst<T extends Record<string, unknown>>(doc: T): T {
  const keys = Object.keys(doc);
  if (keys[0] === '_id' || !('_id' in doc)) return doc;
  const out: Record<string, unknown> = { _id: doc._id };
  for (const key of keys) if (key !== '_id') out[key] = doc[key];
  return out as T;
}
