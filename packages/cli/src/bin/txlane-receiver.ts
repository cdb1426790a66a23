#!/usr/bin/env node
/**
 * `txlane-receiver`: see `txlane-receiver --help` and the README of `@txlane/cli`.
 *
 * Loading the program takes a moment, and a signal's default action would kill the process
 * meanwhile. So the first thing this file does is handle SIGINT/SIGTERM itself: until the
 * program runs, a signal ends the process with exit code 0 (it has created nothing yet); once
 * it runs, `runMain`'s own handlers (installed synchronously by `main`) stop it gracefully and
 * this one does nothing. It is never removed: Node drops a signal that arrived while the
 * module graph was being evaluated if its last listener is removed before the event loop
 * dispatched it (seen: a SIGTERM 0.5 s into start-up ignored entirely).
 *
 * @module
 */
let running = false
const early = () => {
  if (!running) process.exit(0)
}
process.on("SIGINT", early)
process.on("SIGTERM", early)

const [{ main }, { make }] = await Promise.all([import("../run.js"), import("../receiver/command.js")])
running = true
main("txlane-receiver", make)
