/**
 * The PEERS.md command line (`receive` / `send` flags, defaults, checks) for tests:
 * `import { PeerFlags } from "@txlane/testkit/PeerFlags"`. A re-export of `@txlane/conformance`'s
 * `PeerFlags`, which owns it because the published reference peer and testee kit parse with it
 * (and published code must not import this private kit).
 *
 * A subpath of its own, not part of the index: importing it loads the whole conformance
 * harness (about half a second per test file), which the index's users should not pay for.
 *
 * @module
 */
export { PeerFlags } from "@txlane/conformance"
