/**
 * `@txlane/protocol`: the txlane wire format — length-prefixed frames, the `Transactions`
 * envelope and JSON responses. See SPEC.md. The conformance workload and digest live in the
 * `@txlane/protocol/testing` subpath.
 *
 * @module
 */
export * as Endpoint from "./Endpoint.js"
export * as Envelope from "./Envelope.js"
export * from "./errors.js"
export * as Frame from "./Frame.js"
export * as FrameDecoder from "./FrameDecoder.js"
export * as FrameEncoder from "./FrameEncoder.js"
export * as HostEvents from "./HostEvents.js"
export * as HostLogger from "./HostLogger.js"
export * as HostMetrics from "./HostMetrics.js"
export * as Response from "./Response.js"
