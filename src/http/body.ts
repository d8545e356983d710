/**
 * Reads a request body as SDKs send it: plain, or compressed (`Content-Encoding: gzip`, `deflate`
 * or `br`). The limit applies to the bytes after decompression and is enforced while they stream:
 * a small compressed body that would expand without bound (a "zip bomb") is cut off as soon as the
 * output passes the limit, within a zlib chunk or two (16 KiB each) of it, and the
 * rest of the upload is never read.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** The body could not be read; the rest of the upload may be unread, so answer with `Connection: close`. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
    readonly field: string,
    /** Bytes of (decompressed) body read when it stopped. */
    readonly bytesRead = 0,
  ) {
    super(message);
  }
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
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, total));
    };
    source.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > limit) {
        req.pause();
        stop(new BodyError(413, `Request body is more than ${limit} bytes${inflater ? ' once decompressed' : ''}; the limit is ${limit}`, 'body', total));
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
