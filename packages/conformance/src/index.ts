/**
 * `@txlane/conformance`: the peer contract, the cross-implementation matrix and the benchmarks.
 *
 * @module
 */
export * as Report from "./Report.js"
