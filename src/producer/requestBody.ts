/**
 * The one body reader of every producer route (/events, /events/batch, /v1/*): the Content-Type
 * rule, then the bytes (decompressed, at most the route's limit, the rest thrown away: see
 * readBody), which must be UTF-8. Every failure is a BodyError, which each route family answers
 * in its own JSON shape.
 */
import { isUtf8 } from 'node:buffer';
import type { RequestHandler } from 'express';
import { BodyError, discardBody, readBody } from '../platform/http/body';

export interface BodyRules {
  /** Bytes the body may have once decompressed. */
  limit: number;
  /** The media types taken (matched at the start of Content-Type, parameters such as charset ignored). */
  accepts: RegExp;
  /** How the answer names them: "expected <this>, got …". */
  expected: string;
  /** A request without Content-Type is taken (Segment's SDKs may omit it). */
  typeOptional: boolean;
  /**
   * When the Content-Type is checked: 'before' the body is read (a refused body is thrown away
   * unread, so a wrong type wins over a size or encoding problem), or 'after' it was read (a size
   * or encoding problem is answered first). Each route keeps the order its clients have seen.
   */
  typeChecked: 'before' | 'after';
}

function typeProblem(type: string | undefined, rules: BodyRules): BodyError | undefined {
  if (type === undefined ? rules.typeOptional : rules.accepts.test(type)) return undefined;
  return new BodyError(415, 'Content-Type must be application/json', 'content-type', { detail: `expected ${rules.expected}, got ${type || 'nothing'}` });
}

/** Middleware: `req.body` becomes the body's bytes, or the request goes on to the error handlers with a BodyError. */
export function bodyReader(rules: BodyRules): RequestHandler {
  return (req, _res, next) => {
    const type = req.headers['content-type'];
    if (rules.typeChecked === 'before') {
      const refused = typeProblem(type, rules);
      if (refused) {
        discardBody(req);
        return next(refused);
      }
    }
    readBody(req, rules.limit).then((raw) => {
      const refused = rules.typeChecked === 'after' ? typeProblem(type, rules) : undefined;
      if (refused) return next(refused);
      // JSON is UTF-8 (RFC 8259), whatever charset is declared. Decoding other bytes would put
      // U+FFFD in place of what the client sent and store that: the event would not be its own.
      if (!isUtf8(raw)) return next(new BodyError(400, 'Request body is not valid UTF-8', 'body', { detail: 'expected UTF-8 text (JSON)' }));
      req.body = raw;
      next();
    }, next);
  };
}
