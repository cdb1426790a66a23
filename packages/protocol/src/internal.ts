/**
 * `@txlane/protocol/internal`: helpers shared by the txlane packages themselves. Not a public
 * API: it may change in any release, without a changeset entry.
 *
 * @internal
 * @module
 */
export { abortWith } from "./internal/abort.js"
export { LogThrottle } from "./internal/LogThrottle.js"
export { LATENCY_BUCKETS_SECONDS, LatencyHistogram, type Registrar, registrar } from "./internal/metrics.js"
export { duration, durationLimit, fn, invalidOptions } from "./internal/options.js"
