// Structured JSON logs (pino) for every role. One root logger per process, children per
// component; `requestId` fields let one command be followed from gateway to engine to
// consumers. Level from LOG_LEVEL (default "info"; "silent" in tests unless set).
import { pino, type Logger } from 'pino';

export type { Logger };

const defaultLevel = process.env.LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info');

export const rootLogger: Logger = pino({
  level: defaultLevel,
  base: { pid: process.pid, role: process.env.BOURSE_ROLE ?? 'embedded' },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}
