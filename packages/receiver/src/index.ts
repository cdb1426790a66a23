/**
 * `@txlane/receiver`: the multi-handler txlane server — Unix socket or TCP, bounded,
 * backpressured, with a graceful close. See README.md.
 *
 * - `Receiver`: the Effect API (`Receiver.make`, `Receiver.layer`, the `Receiver.Receiver` service).
 * - `createReceiver`: the Promise facade (a `ReceiverHandle`).
 * - `Metrics`: the metric names and a Prometheus rendering helper.
 * - `Options`: the options' defaults and their Schema (also re-exported by `Receiver`), as the sender's `Options`.
 * - the error classes.
 *
 * @module
 */
export * from "./errors.js"
export * as Metrics from "./Metrics.js"
export type { ConnectionEvent, Options as ReceiverOptions } from "./Options.js"
export * as Options from "./Options.js"
export {
  type CloseOptions,
  type CreateReceiverOptions,
  createReceiver,
  type ReceiverEvents,
  type ReceiverHandle
} from "./promise.js"
export * as Receiver from "./Receiver.js"
export type { CloseReport, Stats } from "./Stats.js"
