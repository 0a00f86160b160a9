/**
 * The TCP side: frames messages out of each connection's byte stream, runs them one at a time per connection
 * (the driver pipelines at most `moreToCome` writes on one connection and uses a pool for concurrency), and
 * sends no reply to `moreToCome` requests (w:0 writes), as the protocol requires.
 */
import net from 'node:net';
import type { Document } from 'bson';
import { WireFormatError, messageLength, parseMessage, serializeReply } from './messages';

/** mongod's maxMessageSizeBytes. */
const MAX_MESSAGE_BYTES = 48_000_000;

export type CommandRunner = (command: Document, connectionId: number) => Promise<Document>;

export interface WireServerLogger {
  warn(message: string, data?: object): void;
}

export class WireServer {
  private readonly server: net.Server;
  private readonly connections = new Map<net.Socket, Promise<void>>();
  private nextConnectionId = 1;
  private nextReplyId = 1;

  constructor(
    private readonly run: CommandRunner,
    private readonly logger: WireServerLogger,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets each connection finish the command it is running, then closes them. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections.values()]);
    for (const socket of this.connections.keys()) socket.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    const connectionId = this.nextConnectionId++;
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    this.connections.set(socket, Promise.resolve());
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const length = messageLength(pending);
        if (length === undefined || pending.length < length) break;
        if (length < 16 || length > MAX_MESSAGE_BYTES) {
          this.logger.warn('closing a connection that sent an invalid message length', { connectionId, length });
          socket.destroy();
          return;
        }
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        const previous = this.connections.get(socket) ?? Promise.resolve();
        this.connections.set(socket, previous.then(() => this.handle(socket, message, connectionId)));
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
  }

  private async handle(socket: net.Socket, message: Buffer, connectionId: number): Promise<void> {
    let request;
    try {
      request = parseMessage(message);
    } catch (error) {
      this.logger.warn('closing a connection that sent a malformed message', {
        connectionId,
        error: error instanceof WireFormatError ? error.message : String(error),
      });
      socket.destroy();
      return;
    }
    const reply = await this.run(request.command, connectionId);
    if (request.moreToCome || socket.destroyed) return;
    socket.write(serializeReply(request, reply, this.nextReplyId++));
  }
}
