/**
 * `@txlane/sender`: the producer side of txlane — a bounded queue, N worker fibers each owning
 * one persistent connection, fire-and-forget or acknowledged delivery, graceful close with a
 * report, metrics. An Effect service (`Sender`) and a Promise facade (`createSender`).
 *
 * @module
 */
export * from "./errors.js"
export * as Metrics from "./Metrics.js"
export type {
  Backoff,
  ConnectionEvent,
  Delivery,
  Options as SenderOptions,
  Outcome,
  Overflow,
  Responses
} from "./Options.js"
export * as Options from "./Options.js"
export {
  type CloseOptions,
  type CreateSenderOptions,
  createSender,
  type SenderEvents,
  type SenderHandle,
  type SendOptions
} from "./promise.js"
export * as Sender from "./Sender.js"
export type { CloseReport, Stats, UndeliveredBatch, UndeliveredState } from "./Stats.js"
