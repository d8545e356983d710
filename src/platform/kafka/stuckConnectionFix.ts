/**
 * kafkajs 2.2.4 keeps a broker connection open when a request to it times out, and its retry
 * writes the request again on the same socket. A broker that stopped reading (frozen, a full
 * network path, a half-dead load balancer) never takes those bytes: Node queues every attempt in
 * the socket's write buffer, outside any admission count, until the socket closes. Under a frozen
 * broker the producer's memory then grows with every retried produce request for as long as the
 * freeze lasts.
 *
 * This wraps `Connection.send`: when a request times out while bytes written to the socket are
 * still unsent, the broker is not reading, so the socket is destroyed with an error. kafkajs then
 * takes its usual connection-error path (pending requests rejected and retried on a new
 * connection), and the queued bytes are freed. A request that times out on a socket that took all
 * its bytes (a slow broker that reads) leaves the connection as kafkajs does.
 */
import type { Socket } from 'node:net';

// kafkajs exports no types for its internals; the paths are stable in the pinned 2.x line.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Connection = require('kafkajs/src/network/connection') as { prototype: ConnectionInternals };

export interface ConnectionInternals {
  socket?: Socket | null;
  host: string;
  port: number;
  send(...args: unknown[]): Promise<unknown>;
}

/** Set once, so loading this module twice (tsx and a compiled copy) does not wrap twice. */
const PATCHED = Symbol.for('event-platform.kafkajs.stuckConnectionFix');
type Patched = ConnectionInternals & { [PATCHED]?: true };

const proto = Connection.prototype as Patched;
if (!proto[PATCHED]) {
  const send = proto.send;
  proto.send = async function (this: ConnectionInternals, ...args: unknown[]): Promise<unknown> {
    try {
      return await send.apply(this, args);
    } catch (err) {
      const socket = this.socket;
      if ((err as Error | undefined)?.name === 'KafkaJSRequestTimeoutError' && socket && !socket.destroyed && socket.writableLength > 0) {
        socket.destroy(new Error(`broker ${this.host}:${this.port} stopped reading: ${socket.writableLength} bytes unsent after a request timed out`));
      }
      throw err;
    }
  };
  proto[PATCHED] = true;
}

export { Connection };
