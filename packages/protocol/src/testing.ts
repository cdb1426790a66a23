/**
 * `@txlane/protocol/testing`: the conformance workload and its digest. They are not part of the
 * wire format: peers, harnesses and tests use them to generate a deterministic stream of
 * transactions and to check that every one arrived exactly once. See SPEC.md ("Workload").
 *
 * @module
 */
export * as Digest from "./Digest.js"
export * as Workload from "./Workload.js"
