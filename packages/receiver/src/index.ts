/**
 * `@txlane/receiver`: the multi-handler txlane server — Unix socket or TCP, bounded,
 * backpressured, with graceful shutdown. See README.md.
 *
 * - `Receiver`: the Effect API (`Receiver.make`, `Receiver.layer`, the `Receiver.Receiver` service).
 * - `createReceiver`: the Promise facade.
 * - the error classes.
 *
 * @module
 */
export * from "./errors.js"
export { createReceiver, type PromiseReceiver, type ReceiverOptions } from "./promise.js"
export * as Receiver from "./Receiver.js"
