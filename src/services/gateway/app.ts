// Builds the gateway's Fastify app (never listens: main.ts or a test does that), with the
// rules every route shares: bodies read raw up to a documented limit, one error format
// ({code, msg} with Binance's codes), every refused request logged, request weight
// counted per IP with usage headers on every /api response and 429 past the limit.
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { createLogger } from '../../adapters/logger.ts';
import { registerAdminRoutes } from './admin.ts';
import { registerBinanceRoutes } from './binance-routes.ts';
import { GatewayContext, type GatewayDeps } from './context.ts';
import { ApiError, apiErrors } from './errors.ts';
import { deferredAdmissionProperty, requestWeight } from './security.ts';

export type { GatewayDeps } from './context.ts';

export interface GatewayApp {
  app: FastifyInstance;
  context: GatewayContext;
}

/** Longest URL accepted (query strings included); Binance's own limit is similar. */
export const urlLengthMax = 8192;

/** The route whose rate-limit counters are counted in one cache call (see RateLimiter.takeOrder). */
const orderPath = '/api/v3/order';

function isApiPath(url: string): boolean {
  return url.startsWith('/api/');
}

export function buildGatewayApp(deps: GatewayDeps, options: { extraRoutes?: ((app: FastifyInstance, context: GatewayContext) => void)[] } = {}): GatewayApp {
  const logger = deps.logger ?? createLogger('gateway');
  const context = new GatewayContext({ ...deps, logger });
  const app = Fastify({
    loggerInstance: logger,
    // Refused requests are logged by the error handler; a line per request would cost more
    // than the request at full rate.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimitBytes,
    routerOptions: { maxParamLength: 200 },
    trustProxy: true,
    // Keep-alive connections from load balancers and bots outlive Node's 5 s default.
    keepAliveTimeout: 65_000,
  }) as unknown as FastifyInstance;

  // Every body is read as text; each route parses it (urlencoded or JSON) strictly itself,
  // so the signature can be checked over the exact bytes that were sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: deps.config.bodyLimitBytes }, (_request, body, done) => done(null, body));

  // Every request carries the slot of its deferred admission from the start (one shape).
  app.decorateRequest(deferredAdmissionProperty, null);

  // The hooks take a callback rather than being async: the order path then passes them
  // without a promise and a microtask each.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.url.length > urlLengthMax) {
      done(new ApiError(414, -1101, `URL longer than ${urlLengthMax} characters.`) as unknown as FastifyError);
      return;
    }
    if (!isApiPath(request.url)) {
      done();
      return;
    }
    const question = request.url.indexOf('?');
    const path = question < 0 ? request.url : request.url.slice(0, question);
    const rawQuery = question < 0 ? '' : request.url.slice(question + 1);
    const admission = context.limiter.admit(request.ip, requestWeight(request.method, path, rawQuery));
    if (request.method === 'POST' && path === orderPath) {
      // The order route counts weight, signature use and order counts in one cache call
      // (RateLimiter.takeOrder); a request refused before that counts here (error handler).
      context.limiter.defer(request, admission);
      done();
      return;
    }
    admission.settle().then(
      (headers) => {
        reply.headers(headers);
        done();
      },
      (error: unknown) => done(error as FastifyError),
    );
  });

  // A deferred admission is always counted, even when its request ends without the route.
  const settleDeferred = (request: FastifyRequest): void => {
    const admission = context.limiter.deferred(request);
    if (admission?.unsettled) admission.settle().catch(() => {});
  };
  app.addHook('onResponse', (request, _reply, done) => {
    settleDeferred(request);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    settleDeferred(request);
    done();
  });

  app.setErrorHandler(async (error: FastifyError | ApiError | Error, request, reply) => {
    // A deferred admission is counted first: its refusals (weight, replayed signature) come
    // before every error found after them, as when each was counted where it was checked.
    const admission = context.limiter.deferred(request);
    if (admission) {
      try {
        await admission.settle();
      } catch (refusal) {
        error = refusal as ApiError;
      }
      reply.headers(admission.headers);
    }
    let apiError: ApiError;
    if (error instanceof ApiError) {
      apiError = error;
    } else if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      apiError = apiErrors.bodyTooLarge(deps.config.bodyLimitBytes);
    } else if ((error as FastifyError).statusCode !== undefined && (error as FastifyError).statusCode! < 500) {
      apiError = new ApiError((error as FastifyError).statusCode!, -1100, error.message);
    } else {
      request.log.error({ err: error, method: request.method, url: request.url }, 'request failed');
      apiError = apiErrors.unknown();
    }
    request.log.info(
      { method: request.method, url: request.url.split('?')[0], status: apiError.status, code: apiError.code, msg: apiError.message },
      'request refused',
    );
    return reply.code(apiError.status).headers(apiError.headers).send(apiError.body());
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: -1099, msg: `Not found: ${request.method} ${request.url.split('?')[0]}` });
  });

  registerBinanceRoutes(app, context);
  registerAdminRoutes(app, context);
  for (const register of options.extraRoutes ?? []) register(app, context);
  return { app, context };
}
