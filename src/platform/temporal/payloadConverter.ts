/**
 * Temporal's default payload converter, except that JSON payloads are parsed with parseExact, so
 * a payload number beyond what a double holds (an int64 id, a long decimal) reaches the workflow
 * and its activities with every digit, as the raw number it was on Kafka. Encoding needs no
 * change: the SDK writes JSON payloads with JSON.stringify, which keeps raw numbers verbatim.
 * Payloads of ordinary values parse exactly as before, so existing histories replay unchanged.
 *
 * The worker loads it by path (`dataConverter.payloadConverterPath`), in its activities and
 * inside the workflow sandbox: workflow-safe, no Node imports.
 */
import {
  BinaryPayloadConverter,
  CompositePayloadConverter,
  JsonPayloadConverter,
  UndefinedPayloadConverter,
  ValueError,
  type Payload,
} from '@temporalio/common';
import { decode } from '@temporalio/common/lib/encoding';
import { parseExact } from '../../events/exactJson';

export class ExactJsonPayloadConverter extends JsonPayloadConverter {
  override fromPayload<T>(content: Payload): T {
    if (content.data === undefined || content.data === null) throw new ValueError('Got payload with no data');
    return parseExact(decode(content.data)) as T;
  }
}

/** The order of the SDK's DefaultPayloadConverter, with the exact JSON converter last. */
export const payloadConverter = new CompositePayloadConverter(new UndefinedPayloadConverter(), new BinaryPayloadConverter(), new ExactJsonPayloadConverter());
