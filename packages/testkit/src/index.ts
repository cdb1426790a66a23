/**
 * `@txlane/testkit`: what the tests of every txlane package share (private, never published).
 *
 * - `Temp`: temp directories and short socket paths.
 * - `Children`: JSON-lines child processes, killed with the test process.
 * - `Figure`: measured figures as `RELIABILITY {json}` lines.
 * - `ReceiverChild`: a receiver in its own process (the one receiver child script).
 * - `RawClient`: bytes in, decoded responses out, awaitable counts.
 * - `Window`: the outstanding-promise window.
 * - `Poll`: the one poller, for snapshots that have no event.
 * - `Skip`: loud `skipIf`, failing under `CI=true` unless allowed.
 *
 * @module
 */
export * as Children from "./Children.js"
export * as Figure from "./Figure.js"
export * as Poll from "./Poll.js"
export * as RawClient from "./RawClient.js"
export * as ReceiverChild from "./ReceiverChild.js"
export * as Skip from "./Skip.js"
export * as Temp from "./Temp.js"
export * as Window from "./Window.js"
