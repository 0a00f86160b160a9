/**
 * The MongoDB wire protocol messages the driver sends and expects: OP_MSG (with kind-0 body and kind-1
 * document sequences) and the legacy OP_QUERY/OP_REPLY pair still used for the first handshake.
 * https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
 */
import { deserialize, serialize, type Document } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const FLAG_CHECKSUM_PRESENT = 1 << 0;
const FLAG_MORE_TO_COME = 1 << 1;
const HEADER_BYTES = 16;

/** A request as the server needs it: the command document, and whether the client expects no reply. */
export interface WireRequest {
  readonly requestId: number;
  readonly opCode: number;
  readonly command: Document;
  readonly moreToCome: boolean;
}

export class WireFormatError extends Error {}

/** The total length of the message at the start of `buffer`, or undefined when fewer than 4 bytes arrived. */
export function messageLength(buffer: Buffer): number | undefined {
  return buffer.length < 4 ? undefined : buffer.readInt32LE(0);
}

/** Parses one complete message. */
export function parseMessage(message: Buffer): WireRequest {
  if (message.length < HEADER_BYTES) throw new WireFormatError('message shorter than its header');
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) return { requestId, opCode, ...parseOpMsg(message) };
  if (opCode === OP_QUERY) return { requestId, opCode, command: parseOpQuery(message), moreToCome: false };
  throw new WireFormatError(`unsupported opCode ${opCode}`);
}

function readDocument(message: Buffer, offset: number): { doc: Document; next: number } {
  const size = message.readInt32LE(offset);
  if (size < 5 || offset + size > message.length) throw new WireFormatError('BSON document overruns the message');
  return { doc: deserialize(message.subarray(offset, offset + size)), next: offset + size };
}

function parseOpMsg(message: Buffer): { command: Document; moreToCome: boolean } {
  const flags = message.readUInt32LE(HEADER_BYTES);
  const end = flags & FLAG_CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER_BYTES + 4;
  let body: Document | undefined;
  const sequences: Record<string, Document[]> = {};
  while (offset < end) {
    const kind = message.readUInt8(offset++);
    if (kind === 0) {
      const { doc, next } = readDocument(message, offset);
      body = doc;
      offset = next;
    } else if (kind === 1) {
      const size = message.readInt32LE(offset);
      const sectionEnd = offset + size;
      const nameEnd = message.indexOf(0, offset + 4);
      if (nameEnd < 0 || nameEnd >= sectionEnd) throw new WireFormatError('malformed document sequence');
      const identifier = message.toString('utf8', offset + 4, nameEnd);
      const docs: Document[] = [];
      let cursor = nameEnd + 1;
      while (cursor < sectionEnd) {
        const { doc, next } = readDocument(message, cursor);
        docs.push(doc);
        cursor = next;
      }
      sequences[identifier] = docs;
      offset = sectionEnd;
    } else {
      throw new WireFormatError(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!body) throw new WireFormatError('OP_MSG without a body section');
  return { command: { ...body, ...sequences }, moreToCome: (flags & FLAG_MORE_TO_COME) !== 0 };
}

function parseOpQuery(message: Buffer): Document {
  let offset = HEADER_BYTES + 4;
  const nameEnd = message.indexOf(0, offset);
  if (nameEnd < 0) throw new WireFormatError('OP_QUERY without a collection name');
  const fullCollectionName = message.toString('utf8', offset, nameEnd);
  offset = nameEnd + 1 + 8;
  const { doc } = readDocument(message, offset);
  const command = (doc.$query as Document | undefined) ?? doc;
  const db = fullCollectionName.split('.')[0] ?? 'admin';
  return { ...command, $db: db };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(HEADER_BYTES);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/** Serializes a reply in the form the request came in (OP_MSG, or OP_REPLY to an OP_QUERY). */
export function serializeReply(request: WireRequest, reply: Document, requestId: number): Buffer {
  const body = Buffer.from(serialize(reply, { ignoreUndefined: true }));
  if (request.opCode === OP_QUERY) {
    const prefix = Buffer.alloc(20);
    prefix.writeInt32LE(0, 0);
    prefix.writeBigInt64LE(0n, 4);
    prefix.writeInt32LE(0, 12);
    prefix.writeInt32LE(1, 16);
    const length = HEADER_BYTES + prefix.length + body.length;
    return Buffer.concat([header(length, requestId, request.requestId, OP_REPLY), prefix, body]);
  }
  const flagsAndKind = Buffer.alloc(5);
  const length = HEADER_BYTES + flagsAndKind.length + body.length;
  return Buffer.concat([header(length, requestId, request.requestId, OP_MSG), flagsAndKind, body]);
}
