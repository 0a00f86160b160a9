/**
 * A string that identifies an `_id` value, so documents can be kept in a Map: values MongoDB considers equal
 * (1, 1.0 and Long(1); equal subdocuments) get the same key.
 */
import { ObjectId, serialize } from 'bson';
import { typeRank, toNumber } from './bson-order';

/** The identity key of an `_id` value. */
export function documentKey(id: unknown): string {
  if (typeof id === 'string') return `s${id}`;
  if (id instanceof ObjectId) return `o${id.toHexString()}`;
  if (typeRank(id) === 3) return `n${toNumber(id)}`;
  if (id instanceof Date) return `d${id.getTime()}`;
  if (id === null || id === undefined) return 'z';
  return `b${Buffer.from(serialize({ v: id })).toString('base64')}`;
}
