/**
 * Reads a request body as SDKs send it: plain, or compressed (`Content-Encoding: gzip`, `deflate`
 * or `br`). The limit applies to the bytes after decompression and is enforced while they stream:
 * a small compressed body that would expand without bound (a "zip bomb") is cut off as soon as the
 * output passes the limit, within a zlib chunk or two (16 KiB each) of it; the rest of the
 * upload is thrown away undecompressed (discardBody).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * The body could not be read, or is not what the route takes (its type, its encoding, its size,
 * its syntax). The rest of an unread upload is being thrown away (discardBody): answer without
 * `Connection: close`, which would make Node close the socket with the body unread.
 */
export class BodyError extends Error {
  override name = 'BodyError';
  /** Bytes of (decompressed) body read when it stopped. */
  readonly bytesRead: number;
  /** The answer's `errors`: the field and what is wrong with it. */
  readonly errors: { field: string; message: string }[];
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
    readonly field: string,
    { bytesRead = 0, detail = message }: { bytesRead?: number; detail?: string } = {},
  ) {
    super(message);
    this.bytesRead = bytesRead;
    this.errors = [{ field, message: detail }];
  }
}

/**
 * At most this many bytes of a refused request's body are read and thrown away before the
 * connection is closed: twice the largest body limit that can be configured (MAX_BATCH_BYTES).
 */
export const DISCARD_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * For a request answered before its body was read (413, 415, 401, 503…): reads what the client
 * still sends and throws it away, up to `limit` bytes, then closes the connection (nginx's
 * lingering close). A server that closes while the client is still sending resets the connection,
 * and the client loses the answer: Node's fetch and browsers report a network error instead of the
 * 413 and its JSON. Call it before sending the answer, and send that without `Connection: close`.
 */
export function discardBody(req: IncomingMessage, limit = DISCARD_LIMIT_BYTES): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > limit) {
      req.off('data', onData);
      req.socket.destroy();
    }
  };
  req.on('data', onData);
  req.resume();
}

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};
export const SUPPORTED_ENCODINGS = ['identity', ...Object.keys(DECODERS)];

/** The whole body, decompressed, at most `limit` bytes; rejects with a BodyError. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding =
    String(req.headers['content-encoding'] ?? 'identity')
      .trim()
      .toLowerCase() || 'identity';
  const decoder = encoding === 'identity' ? undefined : DECODERS[encoding];
  if (encoding !== 'identity' && !decoder) {
    discardBody(req);
    return Promise.reject(new BodyError(415, `Content-Encoding ${encoding} is not supported; use ${SUPPORTED_ENCODINGS.join(', ')}`, 'content-encoding'));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const inflater = decoder?.();
    const source: Readable = inflater ? req.pipe(inflater) : req;
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const stop = (error: BodyError | undefined) => {
      if (settled) return;
      settled = true;
      if (inflater) {
        req.unpipe(inflater);
        inflater.destroy();
      }
      if (error) {
        discardBody(req);
        reject(error);
      } else resolve(Buffer.concat(chunks, total));
    };
    source.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > limit) {
        const message = `Request body is more than ${limit} bytes${inflater ? ' once decompressed' : ''}; the limit is ${limit}`;
        stop(new BodyError(413, message, 'body', { bytesRead: total, detail: `at most ${limit} bytes` }));
        return;
      }
      chunks.push(chunk);
    });
    source.on('end', () => stop(undefined));
    source.on('error', (err: Error) =>
      stop(
        inflater
          ? new BodyError(400, `Body is not valid ${encoding} data: ${err.message}`, 'body')
          : new BodyError(400, `Request body could not be read: ${err.message}`, 'body'),
      ),
    );
    // An upload cut off by the client: nothing to answer, but the promise must settle.
    req.on('close', () => {
      if (!req.complete) stop(new BodyError(400, 'Request body was cut off by the client', 'body'));
    });
    if (inflater) req.on('error', () => stop(new BodyError(400, 'Request body could not be read', 'body')));
  });
}
