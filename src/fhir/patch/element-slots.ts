/**
 * Writes into the places that locate-elements.ts found, keeping the resource valid FHIR JSON (json.html): no empty
 * objects or arrays are left behind by a delete, and a primitive list's `_name` companion array (which carries ids
 * and extensions by position) stays aligned with its list when entries are added, inserted, moved or removed.
 */
import { isJsonObject, type JsonObject } from './json-values';
import { childHolder, type LocatedElement, type Slot } from './locate-elements';

/**
 * Removes the value in a slot (with its primitive companion), then removes any parent this leaves empty.
 * @param slot - Where the value lives.
 */
export function removeFromSlot(slot: Slot): void {
  const { holder, key, index } = slot;
  const list = holder[key];
  if (index === undefined || !Array.isArray(list)) {
    delete holder[key];
    delete holder[companionKey(key)];
  } else {
    list.splice(index, 1);
    const companion = holder[companionKey(key)];
    if (Array.isArray(companion)) {
      companion.splice(index, 1);
    }
    if (list.length === 0) {
      delete holder[key];
    }
    dropEmptyCompanion(holder, key);
  }
  if (Object.keys(holder).length === 0) {
    removeHolder(slot);
  }
}

/**
 * Replaces the value in a slot. The old value's primitive companion (its id and extensions) goes with it, because
 * replace swaps the whole element.
 * @param slot - Where the old value lives.
 * @param key - The JSON member for the new value; differs from `slot.key` when a choice element changes type.
 * @param value - The new JSON value.
 */
export function replaceInSlot(slot: Slot, key: string, value: unknown): void {
  const { holder, index } = slot;
  const list = holder[slot.key];
  if (index !== undefined && Array.isArray(list)) {
    list[index] = value;
    const companion = holder[companionKey(slot.key)];
    if (Array.isArray(companion) && index < companion.length) {
      companion[index] = null;
    }
    dropEmptyCompanion(holder, slot.key);
    return;
  }
  delete holder[companionKey(slot.key)];
  if (key !== slot.key) {
    delete holder[slot.key];
  }
  holder[key] = value;
}

/**
 * Inserts into a list (creating it when absent), keeping a companion array aligned.
 * @param holder - The object owning the list.
 * @param key - The list's JSON member.
 * @param index - Position in 0..length; length appends.
 * @param value - The new JSON value.
 */
export function insertIntoList(holder: JsonObject, key: string, index: number, value: unknown): void {
  const list = listAt(holder, key);
  const companion = alignedCompanion(holder, key, list.length);
  list.splice(index, 0, value);
  companion?.splice(index, 0, null);
  holder[key] = list;
}

/**
 * Moves one list entry to another position, with its companion entry.
 * @param holder - The object owning the list.
 * @param key - The list's JSON member.
 * @param source - Current position of the entry.
 * @param destination - Its position after the move.
 */
export function moveInList(holder: JsonObject, key: string, source: number, destination: number): void {
  const list = listAt(holder, key);
  for (const entries of [list, alignedCompanion(holder, key, list.length)]) {
    if (entries !== undefined) {
      const [moved] = entries.splice(source, 1);
      entries.splice(destination, 0, moved);
    }
  }
}

/**
 * The list held in a member, or a new empty one.
 * @param holder - The object owning the list.
 * @param key - The list's JSON member.
 * @returns The live array (not attached when new).
 */
export function listAt(holder: JsonObject, key: string): unknown[] {
  const list = holder[key];
  return Array.isArray(list) ? list : [];
}

/**
 * The object that takes an element's children, creating a primitive's `_name` companion when it has none.
 * @param element - A located element.
 * @returns The holder to write into.
 */
export function ensureChildHolder(element: LocatedElement): JsonObject {
  const existing = childHolder(element);
  if (existing !== undefined) {
    return existing;
  }
  const slot = element.slot;
  if (slot === undefined) {
    throw new Error('the resource is not a JSON object');
  }
  const created: JsonObject = {};
  if (slot.index === undefined) {
    slot.holder[companionKey(slot.key)] = created;
  } else {
    const length = listAt(slot.holder, slot.key).length;
    const companion = alignedCompanion(slot.holder, slot.key, length) ?? new Array<unknown>(length).fill(null);
    companion[slot.index] = created;
    slot.holder[companionKey(slot.key)] = companion;
  }
  return created;
}

function companionKey(key: string): string {
  return `_${key}`;
}

/** The companion array padded with nulls to the list's length, or undefined when the list has none. */
function alignedCompanion(holder: JsonObject, key: string, length: number): unknown[] | undefined {
  const companion = holder[companionKey(key)];
  if (!Array.isArray(companion)) {
    return undefined;
  }
  while (companion.length < length) {
    companion.push(null);
  }
  return companion;
}

function dropEmptyCompanion(holder: JsonObject, key: string): void {
  const companion = holder[companionKey(key)];
  if (Array.isArray(companion) && companion.every((entry) => entry === null)) {
    delete holder[companionKey(key)];
  }
}

/** An object emptied by a delete goes too: from its own slot, or as a primitive's companion. */
function removeHolder(slot: Slot): void {
  const owner = slot.owner;
  const ownerSlot = owner.slot;
  if (ownerSlot === undefined) {
    return;
  }
  if (isJsonObject(owner.value)) {
    removeFromSlot(ownerSlot);
    return;
  }
  const companion = ownerSlot.holder[companionKey(ownerSlot.key)];
  if (ownerSlot.index !== undefined && Array.isArray(companion)) {
    companion[ownerSlot.index] = null;
    dropEmptyCompanion(ownerSlot.holder, ownerSlot.key);
  } else {
    delete ownerSlot.holder[companionKey(ownerSlot.key)];
  }
}
