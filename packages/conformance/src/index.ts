/**
 * `@txlane/conformance`: the peer contract, the cross-implementation matrix and the benchmarks.
 *
 * - `Report`: the PEERS.md JSON lines (Effect Schema).
 * - `PeerFlags`: the PEERS.md command line, every flag with its default and check (Effect Schema).
 * - `Peers`: the implementations of the matrix and outside ones from a command template.
 * - `Scenarios`, `Matrix`, `Outcome`: the suite, its runner and report, the tagged outcomes.
 * - `runConformance`: the whole suite as an Effect (what `txlane-conformance` runs).
 *
 * @module
 */
export { type ConformanceOptions, PROFILES, type Profile, runConformance, UsageError } from "./harness/Cli.js"
export * as Matrix from "./harness/Matrix.js"
export * as Outcome from "./harness/Outcome.js"
export * as Peers from "./harness/Peers.js"
export * as Scenarios from "./harness/Scenarios.js"
export * as PeerFlags from "./PeerFlags.js"
export * as Report from "./Report.js"
