/**
 * The data converter of every worker: JSON payloads parsed with parseExact
 * (src/platform/temporal/payloadConverter.ts), so payload numbers keep every digit in workflow inputs and
 * activity arguments. Clients need nothing: the SDK encodes with JSON.stringify, which writes the
 * raw numbers verbatim.
 */
export const exactDataConverter = { payloadConverterPath: require.resolve('./payloadConverter') };
