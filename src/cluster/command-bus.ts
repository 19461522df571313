// Commands from gateways to the engine leader over core NATS request/reply (about 15x the
// message rate of acknowledged JetStream publishes): the leader is the sequencer and
// group-commits many commands per JetStream message. A gateway gets its answer only after
// the leader made the command durable and executed it; a request nobody received (no
// leader during a takeover) is retried, a request that may have been received but got no
// answer is reported as "status unknown" (CommandTimeoutError), never retried.
import { RequestError, TimeoutError, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { decodeCommand, encodeCommand } from '../domain/codec.ts';
import type { Command } from '../domain/command.ts';
import { CommandTimeoutError, type CommandBus, type CommandResult } from '../services/contracts.ts';
import { EngineOverloadedError } from '../services/engine-host/engine-host.ts';
import { createLogger } from '../adapters/logger.ts';

/** Pause between attempts while no engine leader answers (takeover in progress). */
export const noLeaderRetryMs = 25;
export const commandTimeoutMsDefault = 5000;

const log = createLogger('command-bus');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The reply the leader sends: a result, or the name of the error that refused the command. */
type CommandReply = { sequence: number; events: CommandResult['events'] } | { error: string; message: string };

/** Errors after which the command certainly was not appended, so sending it again is safe. */
const notAppendedErrors = new Set(['EngineHostStoppedError', 'LogFencedError', 'NotLeaderError']);

export interface NatsCommandBusOptions {
  connection: NatsConnection;
  subject: string;
  timeoutMsDefault?: number;
  /** Called with the result's sequence before submit resolves (a gateway waits for its replica). */
  afterResult?: (sequence: number, remainingMs: number) => Promise<unknown>;
}

export class NatsCommandBus implements CommandBus {
  private readonly options: NatsCommandBusOptions;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: NatsCommandBusOptions) {
    this.options = options;
  }

  submit(command: Command, timeoutMs = this.options.timeoutMsDefault ?? commandTimeoutMsDefault): Promise<CommandResult> {
    const submitted = this.send(command, timeoutMs);
    const tracked = submitted.catch(() => undefined);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return submitted;
  }

  /** Resolves once every command this bus submitted so far has been answered (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private async send(command: Command, timeoutMs: number): Promise<CommandResult> {
    const deadline = performance.now() + timeoutMs;
    const payload = encodeCommand(command);
    for (;;) {
      const remainingMs = Math.floor(deadline - performance.now());
      if (remainingMs <= 0) throw new CommandTimeoutError(`no engine leader answered within ${timeoutMs} ms; execution status unknown`);
      let reply: Msg;
      try {
        reply = await this.options.connection.request(this.options.subject, payload, { timeout: remainingMs });
      } catch (error) {
        if (error instanceof RequestError && error.isNoResponders()) {
          // Nobody received it: no leader right now. Safe to send again.
          await new Promise((resolve) => setTimeout(resolve, noLeaderRetryMs));
          continue;
        }
        if (error instanceof TimeoutError || (error instanceof RequestError && /timeout/i.test(error.message))) {
          throw new CommandTimeoutError(`no engine result within ${timeoutMs} ms; execution status unknown`);
        }
        throw new CommandTimeoutError(`engine request failed (${(error as Error).message}); execution status unknown`);
      }
      const answer = JSON.parse(decoder.decode(reply.data)) as CommandReply;
      if ('error' in answer) {
        if (notAppendedErrors.has(answer.error)) {
          await new Promise((resolve) => setTimeout(resolve, noLeaderRetryMs));
          continue;
        }
        if (answer.error === 'EngineOverloadedError') throw new EngineOverloadedError(answer.message);
        if (answer.error === 'CommandTimeoutError') throw new CommandTimeoutError(answer.message);
        throw new CommandTimeoutError(`engine failed (${answer.error}: ${answer.message}); execution status unknown`);
      }
      if (this.options.afterResult) await this.options.afterResult(answer.sequence, Math.max(1, deadline - performance.now()));
      return { sequence: answer.sequence, events: answer.events };
    }
  }
}

/**
 * The leader's side: takes command requests from the subject (queue group, so only one
 * engine takes each) and answers with the result of `bus.submit`. Returns a function
 * that stops taking requests (in-flight ones are still answered).
 */
export function serveCommands(connection: NatsConnection, subject: string, bus: CommandBus, timeoutMs: number): Subscription {
  return connection.subscribe(subject, {
    queue: 'engine',
    callback: (error, message) => {
      if (error) {
        log.error({ err: error }, 'command subscription failed');
        return;
      }
      let command: Command;
      try {
        command = decodeCommand(message.data);
      } catch (decodeError) {
        message.respond(encoder.encode(JSON.stringify({ error: 'CodecError', message: (decodeError as Error).message })));
        return;
      }
      bus.submit(command, timeoutMs).then(
        (result) => message.respond(encoder.encode(JSON.stringify({ sequence: result.sequence, events: result.events }))),
        (submitError: Error) => message.respond(encoder.encode(JSON.stringify({ error: submitError.name, message: submitError.message }))),
      );
    },
  });
}
