/**
 * `@txlane/protocol`: the txlane wire format — length-prefixed frames, the `Transactions`
 * envelope and JSON responses — plus the conformance workload and digest. See SPEC.md.
 *
 * @module
 */
export * as Digest from "./Digest.js"
export * as Endpoint from "./Endpoint.js"
export * as Envelope from "./Envelope.js"
export * from "./errors.js"
export * as Frame from "./Frame.js"
export * as FrameDecoder from "./FrameDecoder.js"
export * as FrameEncoder from "./FrameEncoder.js"
export * as HostLogger from "./HostLogger.js"
export * from "./LogThrottle.js"
export * as Response from "./Response.js"
export * as Workload from "./Workload.js"
