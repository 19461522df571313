// Every error the gateway answers with, in one table: HTTP status, Binance code and message.
// Engine rejections map through `reasonApiErrors` (src/domain/codes.ts); this file holds the
// errors the gateway raises itself, before anything reaches the command log (so an error
// answered from here has changed nothing).
import { reasonApiErrors, type Reason } from '../../domain/codes.ts';

export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): { code: number; msg: string } {
    return { code: this.code, msg: this.message };
  }
}

/** The legal range Binance prints for decimal parameters. */
export const decimalLegalRange = '^([0-9]{1,20})(\\.[0-9]{1,20})?$';

export const apiErrors = {
  unknown: () => new ApiError(500, -1000, 'An unknown error occurred while processing the request.'),
  timeout: () =>
    new ApiError(503, -1007, 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.'),
  tooMuchWeight: (limit: number, retryAfterSeconds: number) =>
    new ApiError(
      429,
      -1003,
      `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  tooManyOrders: (limit: number, window: string, retryAfterSeconds: number) =>
    new ApiError(429, -1015, `Too many new orders; current limit is ${limit} orders per ${window}.`, { 'retry-after': String(retryAfterSeconds) }),
  overloaded: () => new ApiError(503, -1008, 'Server is currently overloaded with other requests. Please try again in a few minutes.'),
  shuttingDown: () => new ApiError(503, -1016, 'This service is no longer available.'),
  unsupported: () => new ApiError(400, -1020, 'This operation is not supported.'),
  timestampOutsideWindow: () => new ApiError(400, -1021, 'Timestamp for this request is outside of the recvWindow.'),
  timestampAhead: () => new ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."),
  badSignature: () => new ApiError(400, -1022, 'Signature for this request is not valid.'),
  replayedSignature: () => new ApiError(400, -1022, 'Signature for this request was already used.'),
  illegalCharacters: (name: string, legalRange: string) =>
    new ApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '${legalRange}'.`),
  malformedQuery: () => new ApiError(400, -1100, 'Illegal characters found in a parameter.'),
  duplicateParameter: () => new ApiError(400, -1101, 'Duplicate values for a parameter detected.'),
  tooManyParameters: () => new ApiError(400, -1101, 'Too many parameters; expected less.'),
  mandatory: (name: string) => new ApiError(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`),
  eitherMandatory: (first: string, second: string) =>
    new ApiError(400, -1102, `Param '${first}' or '${second}' must be sent, but both were empty/null!`),
  malformedBody: (detail: string) => new ApiError(400, -1102, `Malformed request body: ${detail}`),
  unreadParameters: (read: number, sent: number) =>
    new ApiError(400, -1104, `Not all sent parameters were read; read '${read}' parameter(s) but was sent '${sent}'.`),
  emptyParameter: (name: string) => new ApiError(400, -1105, `Parameter '${name}' was empty.`),
  notRequired: (name: string) => new ApiError(400, -1106, `Parameter '${name}' sent when not required.`),
  badPrecision: () => new ApiError(400, -1111, 'Precision is over the maximum defined for this asset.'),
  invalidTimeInForce: () => new ApiError(400, -1115, 'Invalid timeInForce.'),
  invalidOrderType: () => new ApiError(400, -1116, 'Invalid orderType.'),
  invalidSide: () => new ApiError(400, -1117, 'Invalid side.'),
  badSymbol: () => new ApiError(400, -1121, 'Invalid symbol.'),
  invalidListenKey: () => new ApiError(400, -1125, 'This listenKey does not exist.'),
  badCombination: () => new ApiError(400, -1128, 'Combination of optional parameters invalid.'),
  invalidParameter: (detail = 'Invalid data sent for a parameter.') => new ApiError(400, -1130, detail),
  badRecvWindow: () => new ApiError(400, -1131, 'recvWindow must be less than 60000'),
  invalidResponseType: () => new ApiError(400, -1136, 'Invalid newOrderRespType'),
  filterFailure: (filter: string) => new ApiError(400, -1013, `Filter failure: ${filter}`),
  marketClosed: () => new ApiError(400, -1013, 'Market is closed.'),
  insufficientBalance: () => new ApiError(400, -2010, 'Account has insufficient balance for requested action.'),
  unknownOrder: () => new ApiError(400, -2011, 'Unknown order sent.'),
  noSuchOrder: () => new ApiError(400, -2013, 'Order does not exist.'),
  badApiKeyFormat: () => new ApiError(401, -2014, 'API-key format invalid.'),
  rejectedApiKey: () => new ApiError(401, -2015, 'Invalid API-key, IP, or permissions for action.'),
  notFound: () => new ApiError(404, -1099, 'Not found, unauthenticated, or unauthorized.'),
  bodyTooLarge: (limitBytes: number) => new ApiError(413, -1101, `Request body is larger than ${limitBytes} bytes.`),
  adminUnauthorized: () => new ApiError(401, -1002, 'You are not authorized to execute this request.'),
};

/** The API error for an engine rejection reason. */
export function reasonError(reason: number): ApiError {
  const mapped = reasonApiErrors[reason as Reason];
  if (!mapped) return new ApiError(400, -1000, `Rejected by the engine (reason ${reason}).`);
  return new ApiError(mapped.status, mapped.code, mapped.msg);
}
