# syntax=docker/dockerfile:1
# One image for every Bourse role. The role is chosen at build time with
# `--build-arg ROLE=gateway` (default: embedded) or at run time with the environment
# variable BOURSE_ROLE: embedded | gateway | engine | ledger | market-data | notifier.
# Stages: dependencies (npm ci) -> build (typecheck, web UI to web/dist/) -> runtime (slim
# Node 20, non-root). The runtime runs the TypeScript sources through tsx, exactly as
# `npm start` and `npm run cluster` do: parts of the code load `.ts` modules at run time
# (the PGlite worker thread), so a tsc-compiled dist/ does not start today (see
# docs/operations.md). tsx is a dev dependency, so dev dependencies stay in the image.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY web/package.json web/package.json
RUN npm ci --no-audit --no-fund

FROM dependencies AS build
COPY tsconfig.json tsconfig.build.json eslint.config.js ./
COPY src src
COPY web web
# The typecheck fails the build on a broken tree; the web UI is built once, here.
RUN npx tsc -p tsconfig.build.json --noEmit \
 && npm run build --workspace web

FROM ${NODE_IMAGE} AS runtime
ARG ROLE=embedded
ENV NODE_ENV=production \
    BOURSE_ROLE=${ROLE} \
    HOST=0.0.0.0 \
    PORT=8080 \
    METRICS_HOST=0.0.0.0 \
    BOURSE_HEALTH_PORT=9464 \
    BOURSE_DATA_DIR=/data \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/src ./src
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/web/package.json ./web/package.json
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# 8080: REST + WebSocket (gateway, embedded); 9464: health, readiness and metrics.
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
# Cluster roles answer /healthz on BOURSE_HEALTH_PORT (with /readyz and /metrics); the
# embedded process answers the API's ping on PORT and serves /metrics on METRICS_PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const e=process.env;const u=e.BOURSE_ROLE==='embedded'?'http://127.0.0.1:'+e.PORT+'/api/v3/ping':'http://127.0.0.1:'+e.BOURSE_HEALTH_PORT+'/healthz';fetch(u).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Node is PID 1 and handles SIGTERM itself (each role drains and exits); run with --init if
# you add child processes.
CMD ["sh", "-c", "case \"$BOURSE_ROLE\" in \
  embedded) export METRICS_PORT=\"${METRICS_PORT:-9464}\"; exec node --import tsx src/main.ts ;; \
  engine) exec node --import tsx src/services/engine-host/main.ts ;; \
  gateway|ledger|market-data|notifier) exec node --import tsx \"src/services/$BOURSE_ROLE/main.ts\" ;; \
  *) echo \"unknown BOURSE_ROLE '$BOURSE_ROLE' (embedded, gateway, engine, ledger, market-data, notifier)\" >&2; exit 64 ;; \
esac"]
