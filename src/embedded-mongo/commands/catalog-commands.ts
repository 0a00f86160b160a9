/**
 * Collections and indexes: create, drop, dropDatabase, listCollections, createIndexes, listIndexes,
 * dropIndexes. Catalog changes are journaled like document writes.
 * https://www.mongodb.com/docs/manual/reference/command/nav-administration/
 */
import type { Document } from 'bson';
import { collectionName, optionalDocument, type CommandHandler } from './command-context';
import { CommandError } from '../errors';
import { compileFilter } from '../engine/matcher';
import { ID_INDEX_NAME } from '../engine/collection';
import type { IndexSpec } from '../engine/collection-index';
import { compareValues } from '../values/bson-order';

export const create: CommandHandler = (command, context) => {
  const name = collectionName(command, 'create');
  if (context.access.collection(name)) {
    throw new CommandError('NamespaceExists', `Collection ${context.dbName}.${name} already exists.`);
  }
  context.access.ensureCollection(name);
  return {};
};

export const drop: CommandHandler = (command, context) => {
  const name = collectionName(command, 'drop');
  const collection = context.access.collection(name);
  if (!collection) throw new CommandError('NamespaceNotFound', 'ns not found');
  const nIndexesWas = collection.indexes.size;
  context.engine.catalog.drop(context.dbName, name);
  context.access.changes.push({ op: 'dropCollection', db: context.dbName, coll: name });
  return { nIndexesWas, ns: collection.namespace };
};

export const dropDatabase: CommandHandler = (_command, context) => {
  context.engine.catalog.dropDatabase(context.dbName);
  context.access.changes.push({ op: 'dropDatabase', db: context.dbName });
  return { dropped: context.dbName };
};

export const listCollections: CommandHandler = (command, context) => {
  const filter = compileFilter(optionalDocument(command, 'filter'));
  const nameOnly = command.nameOnly === true;
  const infos = context.engine.catalog
    .collections(context.dbName)
    .map((collection) =>
      nameOnly
        ? { name: collection.name, type: 'collection' }
        : {
            name: collection.name,
            type: 'collection',
            options: {},
            info: { readOnly: false, uuid: collection.uuid },
            idIndex: { v: 2, key: { _id: 1 }, name: ID_INDEX_NAME },
          },
    )
    .filter((info) => filter(info));
  return { cursor: context.engine.cursors.open(`${context.dbName}.$cmd.listCollections`, infos[Symbol.iterator](), { batchSize: Number.MAX_SAFE_INTEGER }) };
};

/** The default index name mongod derives from the key pattern: `a_1_b_-1`. */
export function defaultIndexName(key: Document): string {
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${String(direction)}`)
    .join('_');
}

function normalizeSpec(raw: Document): IndexSpec {
  const key = optionalDocument(raw, 'key');
  if (!key || Object.keys(key).length === 0) throw new CommandError('BadValue', 'The index key pattern must be a non-empty object');
  for (const [field, direction] of Object.entries(key)) {
    if (direction !== 1 && direction !== -1) {
      throw new CommandError('BadValue', `Values in the index key pattern can only be 1 or -1 for field ${field}; other index types are not supported by the embedded engine`);
    }
  }
  const spec: IndexSpec = { v: 2, key, name: typeof raw.name === 'string' ? raw.name : defaultIndexName(key) };
  if (raw.unique === true) spec.unique = true;
  if (raw.sparse === true) spec.sparse = true;
  if (raw.partialFilterExpression) spec.partialFilterExpression = optionalDocument(raw, 'partialFilterExpression');
  if (typeof raw.expireAfterSeconds === 'number') spec.expireAfterSeconds = raw.expireAfterSeconds;
  return spec;
}

function sameKey(a: Document, b: Document): boolean {
  return compareValues(a, b) === 0;
}

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return Boolean(a.unique) === Boolean(b.unique) && Boolean(a.sparse) === Boolean(b.sparse) && compareValues(a.partialFilterExpression ?? null, b.partialFilterExpression ?? null) === 0;
}

export const createIndexes: CommandHandler = (command, context) => {
  const name = collectionName(command, 'createIndexes');
  if (!Array.isArray(command.indexes) || command.indexes.length === 0) {
    throw new CommandError('BadValue', 'Must specify at least one index to create');
  }
  const createdCollectionAutomatically = !context.access.collection(name);
  const collection = context.access.ensureCollection(name);
  const numIndexesBefore = collection.indexes.size;
  for (const raw of command.indexes as Document[]) {
    const spec = normalizeSpec(raw);
    const sameName = collection.indexes.get(spec.name);
    const sameKeys = [...collection.indexes.values()].find((index) => sameKey(index.spec.key, spec.key) && sameOptions(index.spec, spec));
    if (sameName) {
      if (sameKey(sameName.spec.key, spec.key) && sameOptions(sameName.spec, spec)) continue;
      throw new CommandError(
        sameKey(sameName.spec.key, spec.key) ? 'IndexOptionsConflict' : 'IndexKeySpecsConflict',
        `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName.spec)}`,
      );
    }
    if (sameKeys) {
      throw new CommandError('IndexOptionsConflict', `Index already exists with a different name: ${sameKeys.name}`);
    }
    collection.createIndex(spec);
    context.access.changes.push({ op: 'createIndex', db: context.dbName, coll: name, spec });
  }
  return { createdCollectionAutomatically, numIndexesBefore, numIndexesAfter: collection.indexes.size };
};

export const listIndexes: CommandHandler = (command, context) => {
  const name = collectionName(command, 'listIndexes');
  const collection = context.access.collection(name);
  if (!collection) throw new CommandError('NamespaceNotFound', `ns does not exist: ${context.dbName}.${name}`);
  const specs = [...collection.indexes.values()].map((index) => index.spec);
  return { cursor: context.engine.cursors.open(`${context.dbName}.$cmd.listIndexes.${name}`, specs[Symbol.iterator](), { batchSize: Number.MAX_SAFE_INTEGER }) };
};

export const dropIndexes: CommandHandler = (command, context) => {
  const name = collectionName(command, 'dropIndexes');
  const collection = context.access.collection(name);
  if (!collection) throw new CommandError('NamespaceNotFound', `ns not found ${context.dbName}.${name}`);
  const nIndexesWas = collection.indexes.size;
  const target = command.index;
  const names: string[] = [];
  if (target === '*') {
    names.push(...[...collection.indexes.keys()].filter((n) => n !== ID_INDEX_NAME));
  } else {
    const wanted = Array.isArray(target) ? (target as string[]) : [target];
    for (const item of wanted) {
      const found =
        typeof item === 'string'
          ? collection.indexes.get(item)
          : [...collection.indexes.values()].find((index) => sameKey(index.spec.key, item as Document));
      if (!found) throw new CommandError('IndexNotFound', `index not found with name [${typeof item === 'string' ? item : JSON.stringify(item)}]`);
      if (found.name === ID_INDEX_NAME) throw new CommandError('InvalidOptions', 'cannot drop _id index');
      names.push(found.name);
    }
  }
  for (const indexName of names) {
    collection.dropIndex(indexName);
    context.access.changes.push({ op: 'dropIndex', db: context.dbName, coll: name, name: indexName });
  }
  return { nIndexesWas };
};
