#!/usr/bin/env node
/**
 * `txlane-ts-peer receive|send …`: the TypeScript testee of PEERS.md (see `src/peers/ts.ts`).
 *
 * @module
 */
import { Console } from "node:console"

// PEERS.md: stdout carries only the JSON lines. Effect's logger writes through the global
// console, so point the whole console at stderr before anything else is loaded; the peer
// writes its lines with `process.stdout.write`.
globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr })

const { main } = await import("../peers/ts.js")
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`txlane-ts-peer: ${String(error)}\n`)
    process.exit(1)
  }
)
