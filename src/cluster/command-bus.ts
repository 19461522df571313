// Commands from gateways to the engine leader over core NATS request/reply (about 15x the
// message rate of acknowledged JetStream publishes): the leader is the sequencer and
// group-commits many commands per JetStream message. A gateway sends every command
// submitted during one turn of its event loop as ONE request (a batch), and the leader
// answers the batch with one reply holding each command's own result, so the per-message
// cost of NATS (and of the leader's reply) is paid per batch, not per order. A gateway
// gets a command's answer only after the leader made it durable and executed it; a batch
// nobody received (no leader during a takeover) is sent again, a command refused before it
// was appended is sent again, and a batch that may have been received but got no answer
// is reported as "status unknown" (CommandTimeoutError) for each of its commands, never
// sent again.
import { RequestError, TimeoutError, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { decodeCommand, decodeEventBatch, encodeCommand, encodeEventBatch } from '../domain/codec.ts';
import type { Command } from '../domain/command.ts';
import { CommandTimeoutError, type CommandBus, type CommandResult } from '../services/contracts.ts';
import { EngineOverloadedError } from '../services/engine-host/engine-host.ts';
import { decodeRecords, encodeRecords } from '../adapters/jetstream-log.ts';
import { createLogger } from '../adapters/logger.ts';

/** Pause between attempts while no engine leader answers (takeover in progress). */
export const noLeaderRetryMs = 25;
export const commandTimeoutMsDefault = 5000;
/** Commands one request may carry (the rest wait for the next request of the same turn). */
export const commandsPerRequestMax = 256;
/** Encoded command bytes one request may carry: well under NATS's default 1 MiB max_payload. */
export const requestBytesMax = 512 * 1024;
/** Reply bytes the leader sends at most: results beyond it are answered "status unknown". */
export const replyBytesMax = 900 * 1024;

const log = createLogger('command-bus');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The leader's answer for one command: a result, or the name of the error that refused it. */
type CommandReply = { sequence: number; events: CommandResult['events'] } | { error: string; message: string };

/**
 * Replies are binary, framed like log messages ([u32 count] then [u32 length][bytes] per
 * answer). An answer's first byte says what it is: a result (then the command sequence as a
 * float64 and the events in the event log's codec, far cheaper than JSON for both sides),
 * a refusal of that command (then JSON {error, message}), or a refusal of the whole batch
 * (the only answer; then JSON).
 */
const AnswerKind = { Result: 0, CommandError: 1, BatchError: 2 } as const;

function encodeResultAnswer(result: CommandResult): Uint8Array {
  const events = encodeEventBatch(result.events);
  const answer = new Uint8Array(9 + events.length);
  answer[0] = AnswerKind.Result;
  new DataView(answer.buffer).setFloat64(1, result.sequence);
  answer.set(events, 9);
  return answer;
}

function encodeErrorAnswer(kind: number, error: string, message: string): Uint8Array {
  const text = encoder.encode(JSON.stringify({ error, message }));
  const answer = new Uint8Array(1 + text.length);
  answer[0] = kind;
  answer.set(text, 1);
  return answer;
}

function decodeAnswer(answer: Uint8Array): CommandReply & { batch?: boolean } {
  if (answer[0] === AnswerKind.Result) {
    const sequence = new DataView(answer.buffer, answer.byteOffset, answer.byteLength).getFloat64(1);
    return { sequence, events: decodeEventBatch(answer.subarray(9)) };
  }
  const refusal = JSON.parse(decoder.decode(answer.subarray(1))) as { error: string; message: string };
  return { ...refusal, batch: answer[0] === AnswerKind.BatchError };
}

/** Errors after which the command certainly was not appended, so sending it again is safe. */
const notAppendedErrors = new Set(['EngineHostStoppedError', 'LogFencedError', 'NotLeaderError']);

export interface NatsCommandBusOptions {
  connection: NatsConnection;
  subject: string;
  timeoutMsDefault?: number;
  /** Called with the result's sequence before submit resolves (a gateway waits for its replica). */
  afterResult?: (sequence: number, remainingMs: number) => Promise<unknown>;
}

/** One submitted command until it is answered. */
class QueuedCommand {
  constructor(
    readonly id: number,
    readonly payload: Uint8Array,
    readonly deadlineMs: number,
    readonly timeoutMs: number,
    readonly resolve: (result: CommandResult) => void,
    readonly reject: (error: Error) => void,
  ) {}
}

export class NatsCommandBus implements CommandBus {
  private readonly options: NatsCommandBusOptions;
  /** Commands waiting for the next request, in submission order. */
  private queue: QueuedCommand[] = [];
  private flushScheduled = false;
  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  private nextId = 1;
  /** Unanswered commands by id; ids grow, so the first key is the oldest unanswered one. */
  private readonly unanswered = new Map<number, QueuedCommand>();
  private settleWaiters: { throughId: number; resolve: () => void }[] = [];

  constructor(options: NatsCommandBusOptions) {
    this.options = options;
  }

  submit(command: Command, timeoutMs = this.options.timeoutMsDefault ?? commandTimeoutMsDefault): Promise<CommandResult> {
    let payload: Uint8Array;
    try {
      payload = encodeCommand(command);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise<CommandResult>((resolve, reject) => {
      const queued = new QueuedCommand(this.nextId++, payload, performance.now() + timeoutMs, timeoutMs, resolve, reject);
      this.unanswered.set(queued.id, queued);
      this.enqueue(queued);
    });
  }

  /** Resolves once every command this bus submitted so far has been answered (or failed). */
  settled(): Promise<void> {
    const throughId = this.nextId - 1;
    if (this.oldestUnansweredId() > throughId) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push({ throughId, resolve }));
  }

  private oldestUnansweredId(): number {
    for (const id of this.unanswered.keys()) return id;
    return Number.POSITIVE_INFINITY;
  }

  private enqueue(queued: QueuedCommand): void {
    this.queue.push(queued);
    // Everything submitted in this turn of the event loop (all requests whose bytes arrived
    // together) travels in one request; setImmediate runs right after the I/O phase, so it
    // adds no timer delay.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
  }

  private finish(queued: QueuedCommand, outcome: { result: CommandResult } | { error: Error }): void {
    this.unanswered.delete(queued.id);
    if ('result' in outcome) queued.resolve(outcome.result);
    else queued.reject(outcome.error);
    if (this.settleWaiters.length > 0) {
      const oldest = this.oldestUnansweredId();
      const waiting = this.settleWaiters;
      this.settleWaiters = waiting.filter((waiter) => waiter.throughId >= oldest);
      for (const waiter of waiting) if (waiter.throughId < oldest) waiter.resolve();
    }
  }

  /** Sends `queued` again after a pause (it certainly was not appended), or times it out. */
  private retryLater(queued: QueuedCommand, reason: string): void {
    if (performance.now() + noLeaderRetryMs >= queued.deadlineMs) {
      this.finish(queued, { error: new CommandTimeoutError(`${reason} within ${queued.timeoutMs} ms; execution status unknown`) });
      return;
    }
    setTimeout(() => this.enqueue(queued), noLeaderRetryMs);
  }

  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    let start = 0;
    while (start < queue.length) {
      let end = start;
      let bytes = 0;
      while (end < queue.length && end - start < commandsPerRequestMax && (end === start || bytes + queue[end]!.payload.length <= requestBytesMax)) {
        bytes += queue[end]!.payload.length;
        end++;
      }
      const batch = queue.slice(start, end);
      this.send(batch).catch((error: unknown) => {
        // Only a bug gets here (send settles its own commands): never leave a submitter hanging.
        log.error({ err: error }, 'command batch failed unexpectedly');
        for (const queued of batch) {
          if (this.unanswered.has(queued.id)) this.finish(queued, { error: new CommandTimeoutError(`engine request failed (${(error as Error).message}); execution status unknown`) });
        }
      });
      start = end;
    }
  }

  private async send(batch: QueuedCommand[]): Promise<void> {
    const nowMs = performance.now();
    let waitMs = 0;
    const live: QueuedCommand[] = [];
    for (const queued of batch) {
      const remainingMs = Math.floor(queued.deadlineMs - nowMs);
      if (remainingMs <= 0) {
        this.finish(queued, { error: new CommandTimeoutError(`no engine leader answered within ${queued.timeoutMs} ms; execution status unknown`) });
        continue;
      }
      live.push(queued);
      if (remainingMs > waitMs) waitMs = remainingMs;
    }
    if (live.length === 0) return;
    let reply: Msg;
    try {
      reply = await this.options.connection.request(this.options.subject, encodeRecords(live.map((queued) => queued.payload)), { timeout: waitMs });
    } catch (error) {
      if (error instanceof RequestError && error.isNoResponders()) {
        // Nobody received it: no leader right now. Safe to send again.
        for (const queued of live) this.retryLater(queued, 'no engine leader answered');
        return;
      }
      const text =
        error instanceof TimeoutError || (error instanceof RequestError && /timeout/i.test(error.message))
          ? 'no engine result within TIMEOUT ms; execution status unknown'
          : `engine request failed (${(error as Error).message}); execution status unknown`;
      for (const queued of live) this.finish(queued, { error: new CommandTimeoutError(text.replace('TIMEOUT', String(queued.timeoutMs))) });
      return;
    }
    let answers: (CommandReply & { batch?: boolean })[];
    try {
      answers = decodeRecords(reply.data).map(decodeAnswer);
    } catch (error) {
      for (const queued of live) this.finish(queued, { error: new CommandTimeoutError(`unreadable engine reply (${(error as Error).message}); execution status unknown`) });
      return;
    }
    const batchRefusal = answers.length === 1 && answers[0]!.batch === true ? answers[0] : undefined;
    for (let index = 0; index < live.length; index++) {
      const queued = live[index]!;
      const answer = batchRefusal ?? answers[index];
      if (answer === undefined) {
        this.finish(queued, { error: new CommandTimeoutError(`the engine answered ${answers.length} of ${live.length} commands; execution status unknown`) });
        continue;
      }
      if ('error' in answer) {
        if (notAppendedErrors.has(answer.error)) this.retryLater(queued, `engine refused the command (${answer.error})`);
        else if (answer.error === 'EngineOverloadedError') this.finish(queued, { error: new EngineOverloadedError(answer.message) });
        else if (answer.error === 'CommandTimeoutError') this.finish(queued, { error: new CommandTimeoutError(answer.message) });
        else this.finish(queued, { error: new CommandTimeoutError(`engine failed (${answer.error}: ${answer.message}); execution status unknown`) });
        continue;
      }
      const result: CommandResult = { sequence: answer.sequence, events: answer.events };
      if (this.options.afterResult) {
        this.options.afterResult(answer.sequence, Math.max(1, queued.deadlineMs - performance.now())).then(
          () => this.finish(queued, { result }),
          (error: Error) => this.finish(queued, { error }),
        );
      } else this.finish(queued, { result });
    }
  }
}

/** Frames the answers; answers beyond replyBytesMax become "status unknown" refusals. */
function encodeReply(answers: Uint8Array[]): Uint8Array {
  let bytes = 4;
  for (let index = 0; index < answers.length; index++) {
    if (bytes + 4 + answers[index]!.length > replyBytesMax) {
      answers[index] = encodeErrorAnswer(AnswerKind.CommandError, 'ReplyTooLargeError', `the batch's reply exceeds ${replyBytesMax} bytes; execution status unknown`);
    }
    bytes += 4 + answers[index]!.length;
  }
  return encodeRecords(answers);
}

/**
 * The leader's side: takes command batches from the subject (queue group, so only one
 * engine takes each), submits every command of a batch to `bus` in order (the host
 * group-commits them together) and answers the batch once every command has its result.
 */
export function serveCommands(connection: NatsConnection, subject: string, bus: CommandBus, timeoutMs: number): Subscription {
  return connection.subscribe(subject, {
    queue: 'engine',
    callback: (error, message) => {
      if (error) {
        log.error({ err: error }, 'command subscription failed');
        return;
      }
      let commands: Command[];
      try {
        commands = decodeRecords(message.data).map((payload) => decodeCommand(payload));
      } catch (decodeError) {
        message.respond(encodeRecords([encodeErrorAnswer(AnswerKind.BatchError, 'CodecError', (decodeError as Error).message)]));
        return;
      }
      if (commands.length === 0) {
        message.respond(encodeRecords([]));
        return;
      }
      const answers: Uint8Array[] = new Array(commands.length);
      let outstanding = commands.length;
      const answered = (index: number, answer: Uint8Array): void => {
        answers[index] = answer;
        if (--outstanding === 0) message.respond(encodeReply(answers));
      };
      for (let index = 0; index < commands.length; index++) {
        bus.submit(commands[index]!, timeoutMs).then(
          (result) => answered(index, encodeResultAnswer(result)),
          (submitError: Error) => answered(index, encodeErrorAnswer(AnswerKind.CommandError, submitError.name, submitError.message)),
        );
      }
    },
  });
}
