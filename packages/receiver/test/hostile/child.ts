/**
 * A receiver in its own process, for the hostile-client tests: its RSS and open file
 * descriptors are then the receiver's alone (the attacking clients live in the test process).
 *
 * `node --conditions=txlane-source --import tsx child.ts '{"listen":…,…receiver options}'`
 *
 * stdout, one JSON object per line: `{"event":"listening","endpoint":…}` once, then a
 * `{"event":"stats",…}` line for every `stats` line read on stdin (stats, memoryUsage, open fds).
 * Exits after a graceful close on SIGTERM, on `close` on stdin, or when stdin ends (the parent
 * died): a test can never leave it behind.
 */
import * as Fs from "node:fs"
import * as Readline from "node:readline"
import { createReceiver, type ReceiverOptions } from "../../src/index.js"

const options = JSON.parse(process.argv[2] ?? "{}") as Omit<ReceiverOptions, "submit">
const receiver = await createReceiver({ logLevel: "none", ...options, submit: async () => ({}) })
const write = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`)
write({ event: "listening", endpoint: receiver.address })

let closing = false
const close = async () => {
  if (closing) return
  closing = true
  const report = await receiver.close({ timeoutMs: 2000 })
  write({ event: "report", ...report })
  process.exit(0)
}
process.on("SIGTERM", close)
const lines = Readline.createInterface({ input: process.stdin })
lines.on("line", (line) => {
  if (line === "stats") {
    write({
      event: "stats",
      ...receiver.stats(),
      memory: process.memoryUsage(),
      fds: Fs.readdirSync("/proc/self/fd").length
    })
  } else if (line === "close") void close()
})
lines.on("close", close)
