/**
 * The PEERS.md command line shared by the TypeScript reference peer (`txlane-ts-peer`) and the
 * testee kit (`@txlane/conformance/testee`): exit codes, the JSON lines, and the whole `receive`
 * role (its flags are `PeerFlags.Receive`) on top of `@txlane/receiver` (with the kit's `submit`, or accepting every
 * batch as the reference peer does).
 *
 * @module
 */
import * as fs from "node:fs"
import { Frame, FrameEncoder } from "@txlane/protocol"
import { Digest } from "@txlane/protocol/testing"
import { createReceiver } from "@txlane/receiver"
import { Result } from "effect"
import * as PeerFlags from "../PeerFlags.js"
import type { Report } from "../Report.js"

/** PEERS.md exit code: success. */
export const EXIT_OK = 0
/** PEERS.md exit code: the run finished but not everything was delivered, or a fatal error. */
export const EXIT_NOT_DELIVERED = 1
/** PEERS.md exit code: a bad command line. */
export const EXIT_USAGE = 2

/** A receiver's application hook: resolves when the batch is accepted, rejects to refuse it. */
export type Submit = (transactions: ReadonlyArray<Uint8Array>) => Promise<void> | void

/** Writes one PEERS.md JSON line on stdout; resolves once it is flushed. */
export const printLine = (value: object): Promise<void> =>
  new Promise((resolve) => process.stdout.write(`${JSON.stringify(value)}\n`, () => resolve()))

/**
 * `receive --listen ENDPOINT [--respond json|none] [--handlers N] [--max-frame-bytes N]
 * [--record FILE] [--expect-transactions N]`: listens, prints the ready line, stops on
 * SIGTERM/SIGINT or once N transactions were accepted, prints the report (`impl` = `name`).
 */
export const receive = async (
  name: string,
  submit: Submit | undefined,
  argv: ReadonlyArray<string>,
  log: (message: string) => void
): Promise<number> => {
  const flags = PeerFlags.parse(PeerFlags.Receive, argv)
  const respond = flags.respond
  const expect = flags["expect-transactions"]
  const record = flags.record === undefined ? undefined : fs.openSync(flags.record, "a")

  const digest = Digest.make()
  let frames = 0
  let bytes = 0
  let first = 0
  let last = 0
  let stopping: Promise<void> | undefined
  const accept = ({ transactions, payload }: { transactions: ReadonlyArray<Uint8Array>; payload: Uint8Array }) => {
    // Recorded once accepted and before the response exists, so a frame that is answered is on
    // file. A SIGKILL can still cut this write short (PEERS.md `--record`); that frame was never answered.
    if (record !== undefined) {
      const [header, body] = Result.getOrThrow(FrameEncoder.encode(payload, Frame.MAX_LENGTH))
      fs.writeSync(record, Buffer.concat([header, body]))
    }
    digest.addAll(transactions)
    frames++
    bytes += payload.length
    const now = performance.now()
    if (first === 0) first = now
    last = now
    if (expect !== undefined && digest.count >= expect) setImmediate(() => void stop())
    return { count: transactions.length }
  }
  const receiver = await createReceiver({
    listen: flags.listen,
    respond,
    handlers: flags.handlers,
    maxFrameBytes: flags["max-frame-bytes"],
    maxConnections: flags["max-connections"],
    // Without a team's submit (the reference peer) a batch is accepted synchronously: no Promise
    // and no async hop per frame.
    submit:
      submit === undefined
        ? accept
        : async (batch) => {
            await submit(batch.transactions)
            return accept(batch)
          }
  })
  let resolveStopped: (code: number) => void = () => {}
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve
  })
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Graceful: submits what was decoded and flushes every response before closing.
      const shutdown = await receiver.close()
      if (shutdown.timedOut) log(`shutdown deadline passed; ${shutdown.unsubmittedFrames} frames not submitted`)
      if (record !== undefined) fs.closeSync(record)
      const stats = receiver.stats()
      const errors: Record<string, number> = {}
      for (const [kind, n] of Object.entries(stats.errors)) {
        if (n > 0) errors[kind] = n
      }
      const errorResponses =
        respond === "json"
          ? (stats.errors.EmptyFrame ?? 0) +
            (stats.errors.MalformedEnvelope ?? 0) +
            (stats.errors.FrameTooLarge ?? 0) +
            (stats.errors.SubmitFailed ?? 0)
          : 0
      const report: Report = {
        event: "report",
        role: "receiver",
        impl: name,
        frames,
        transactions: digest.count,
        bytes,
        digest: digest.value,
        acknowledged: 0,
        undelivered: 0,
        responses: { ok: respond === "json" ? frames : 0, error: errorResponses },
        errors,
        elapsedMs: Math.max(0, Math.round(last - first)) // PEERS.md: an integer
      }
      await printLine(report)
      resolveStopped(EXIT_OK)
    })()
    return stopping
  }
  // Signal handlers before the ready line: the harness may signal right after reading it.
  process.once("SIGTERM", () => void stop())
  process.once("SIGINT", () => void stop())
  await printLine({ event: "listening", endpoint: receiver.address })
  if (expect === 0) void stop()
  return stopped
}
