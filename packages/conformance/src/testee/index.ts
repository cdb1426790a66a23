/**
 * The TypeScript testee kit (`@txlane/conformance/testee`): everything PEERS.md asks of a
 * testee program except the part a team wants tested — its client (a `dial` returning a
 * {@link Conn}) or its receiver logic (a `submit`).
 *
 * The kit provides the `receive` / `send` command line with every PEERS.md flag (exit code 2 on
 * a bad one), the ready and report lines, the SplitMix64 workload, the digest, `--record`,
 * `--expect-transactions`, signal handling and the exit codes:
 *
 * ```ts
 * import { dialFrames, main } from "@txlane/conformance/testee"
 * main({ name: "acme", dial: dialFrames, submit: async (transactions) => acmeNode.add(transactions) })
 * ```
 *
 * A receiver is `@txlane/receiver`'s `createReceiver` (framing, JSON answers, handler pool,
 * socket files) calling `submit` once per accepted batch. A sender runs `--workers` workers;
 * each owns one {@link Conn} from `dial` and calls `send` once per batch: resolving is
 * delivered, a {@link NotReady} rejection resends the batch after 100 ms doubling to 4 s (at
 * most 30 times), a {@link Rejected} one gives the batch up, and any other rejection closes the
 * connection, dials again (with backoff, until `--timeout-ms`) and resends the batch.
 *
 * @module
 */
import { Console } from "node:console"
import * as net from "node:net"
import { Endpoint, Envelope, Frame, FrameEncoder, Response } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { Result } from "effect"
import * as PeerFlags from "../PeerFlags.js"
import type { Report } from "../Report.js"
import { EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE, printLine, receive, type Submit } from "./command.js"

export { EXIT_NOT_DELIVERED, EXIT_OK, EXIT_USAGE, type Submit }

/** The PEERS.md `send` flags a client may care about. */
export interface SendOptions {
  readonly delivery: "fire-and-forget" | "acknowledged"
  /** `--max-frame-bytes`; the kit never hands a larger payload to `send`. */
  readonly maxFrameBytes: number
  /**
   * Whether this sender already found the receiver silent: true once any connection's `send`
   * resolved `false`. A connection that has not seen it yet can count on it: its frames are
   * delivered once written, and a clean close before any answer is that receiver closing (it
   * exits once it has every batch), not a refusal.
   */
  readonly receiverSilent: () => boolean
}

/** One sender connection, used by one worker at a time. */
export interface Conn {
  /**
   * Delivers one batch payload (a `Transactions` envelope; the client frames it). Resolves
   * `true` when the receiver answered it with success (counted in `acknowledged` and
   * `responses.ok`), `false` when it was only written to a receiver that does not answer.
   * Rejects with {@link NotReady}, {@link Rejected} or anything else (a broken connection).
   */
  send(payload: Uint8Array): Promise<boolean>
  /** Releases the connection. */
  close(): void
}

/** What a team provides: `dial` to test a sender, `submit` to test a receiver, or both. */
export interface Peer {
  /** The report line's `impl`. */
  readonly name: string
  /** Opens one connection; rejections count as `ConnectFailed` and are retried with backoff. */
  readonly dial?: ((endpoint: string, options: SendOptions) => Promise<Conn>) | undefined
  /**
   * Receives the transactions of every accepted frame. Resolving accepts them; a rejection is
   * answered `Transaction submission failed: MESSAGE` and the batch is not counted.
   */
  readonly submit?: Submit | undefined
}

/** The receiver answered `Node not ready…`: the batch is resent later (`errors.NotReady`). */
export class NotReady extends Error {}
/** The receiver refused the batch: not resent, counted undelivered (`errors.Rejected`). */
export class Rejected extends Error {}

const RECONNECT_FIRST_MS = 10 // first delay after a failed dial or a broken connection
const RECONNECT_MAX_MS = 500 // the harness starts receivers within a second
const NOT_READY_FIRST_MS = 100 // PEERS.md: 100 ms doubling …
const NOT_READY_MAX_MS = 4000 // … capped at 4 s …
const NOT_READY_TRIES = 30 // … at most 30 retries, then the batch is rejected
const DEFAULT_WORKERS = 4
/** How long {@link dialFrames} waits for a first answer before deciding the receiver is silent. */
export const SILENT_AFTER_MS = 1000

/**
 * Classifies a receiver's JSON answer (SPEC §5.1): `true` on success; throws {@link NotReady}
 * for `Node not ready…` and {@link Rejected} for anything else.
 */
export const answer = (payload: Uint8Array): boolean => {
  const decoded = Response.decode(payload)
  if (Result.isFailure(decoded)) throw new Rejected(`malformed answer: ${decoded.failure.message}`)
  const r = decoded.success
  if (r.success) return true
  const text = typeof r.error === "string" ? r.error : JSON.stringify(r)
  throw text.startsWith("Node not ready") ? new NotReady(text) : new Rejected(text)
}

/**
 * A ready-made client that speaks the framing directly: one frame written, then its answer
 * read. In fire-and-forget mode a connection with no answer within {@link SILENT_AFTER_MS} is to
 * a silent receiver, and writes count as deliveries; in acknowledged mode every frame waits for
 * its answer. A connection closed before any answer is broken (`send` throws, the frame is to be
 * resent), never silent: a receiver at its connection limit accepts and closes at once, and over
 * TCP the frame can even reach the kernel after its FIN. Once another connection found the
 * receiver silent (`receiverSilent`), a clean close after the write is that receiver's (it exits
 * once it has every batch) and the frame counts as delivered; a reset still throws.
 */
export const dialFrames = (endpoint: string, options: SendOptions): Promise<Conn> =>
  new Promise((resolve, reject) => {
    const parsed = Endpoint.parse(endpoint)
    if (Result.isFailure(parsed)) return reject(parsed.failure)
    // allowHalfOpen: a receiver found silent may shut its write side down and keep reading.
    const socket = net.createConnection({ ...Endpoint.toNetOptions(parsed.success), allowHalfOpen: true })
    socket.once("error", reject)
    socket.once("connect", () => {
      socket.off("error", reject)
      resolve(new FrameConn(socket, options.delivery === "acknowledged", options.receiverSilent))
    })
  })

class FrameConn implements Conn {
  private buffer = Buffer.alloc(0)
  private ended: Error | undefined
  /** The peer ended the connection with a FIN (`end`), not a reset or an error. */
  private endedCleanly = false
  private wake: (() => void) | undefined
  private silent = false
  constructor(
    private readonly socket: net.Socket,
    private answers: boolean,
    private readonly receiverSilent: () => boolean
  ) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.wake?.()
    })
    const end = (error?: Error) => {
      this.ended ??= error ?? new Error("connection closed")
      this.wake?.()
    }
    socket.on("end", () => {
      this.endedCleanly = this.ended === undefined
      end()
    })
    socket.on("close", () => end())
    socket.on("error", end)
  }

  private async frame(timeoutMs: number | undefined): Promise<Uint8Array | "timeout"> {
    const started = Date.now()
    for (;;) {
      if (this.buffer.length >= 4) {
        const length = this.buffer.readUInt32BE(0)
        if (this.buffer.length >= 4 + length) {
          const body = this.buffer.subarray(4, 4 + length)
          this.buffer = this.buffer.subarray(4 + length)
          return body
        }
      }
      if (this.ended !== undefined) throw this.ended
      const left = timeoutMs === undefined ? undefined : timeoutMs - (Date.now() - started)
      if (left !== undefined && left <= 0) return "timeout"
      await new Promise<void>((resolve) => {
        const timer = left === undefined ? undefined : setTimeout(resolve, left)
        this.wake = () => {
          if (timer !== undefined) clearTimeout(timer)
          resolve()
        }
      })
      this.wake = undefined
    }
  }

  async send(payload: Uint8Array): Promise<boolean> {
    if (this.ended !== undefined && !this.silent) throw this.ended
    const [header, body] = Result.getOrThrow(FrameEncoder.encode(payload, Frame.MAX_LENGTH))
    await new Promise<void>((resolve, reject) =>
      this.socket.write(Buffer.concat([header, body]), (error) => (error ? reject(error) : resolve()))
    )
    if (this.silent || this.receiverSilent()) return false
    let frame: Uint8Array | "timeout"
    try {
      frame = await this.frame(this.answers ? undefined : SILENT_AFTER_MS)
    } catch (error) {
      // Found silent on another connection while this one waited: a FIN is that receiver
      // closing with the frame read (it exits once it has every batch), not a refusal.
      if (this.endedCleanly && !this.answers && this.receiverSilent()) return false
      throw error
    }
    if (frame === "timeout") {
      this.silent = true
      return false
    }
    this.answers = true
    return answer(frame)
  }

  close(): void {
    this.socket.destroy()
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      resolve()
    }
    signal.addEventListener("abort", done, { once: true })
  })

const send = async (peer: Peer, dial: NonNullable<Peer["dial"]>, argv: ReadonlyArray<string>): Promise<number> => {
  // --queue is checked but unused: workers pull batches as they go. --transient-retry-ms is
  // accepted (PEERS.md: optional for testees); the kit's first delay stays 100 ms.
  const flags = PeerFlags.parse(PeerFlags.Send, argv)
  const { endpoint, delivery, batches, seed } = flags
  const workers = flags.workers ?? DEFAULT_WORKERS
  const timeoutMs = flags["timeout-ms"]
  const maxFrameBytes = flags["max-frame-bytes"]

  const abort = new AbortController()
  const deadline = setTimeout(() => abort.abort(), timeoutMs)
  const onSignal = () => abort.abort()
  process.once("SIGTERM", onSignal)
  process.once("SIGINT", onSignal)
  let receiverSilent = false
  const options: SendOptions = { delivery, maxFrameBytes, receiverSilent: () => receiverSilent }
  const delivered = Digest.make()
  const errors: Record<string, number> = {}
  const count = (kind: string) => {
    errors[kind] = (errors[kind] ?? 0) + 1
  }
  let frames = 0
  let transactions = 0
  let bytes = 0
  let acknowledged = 0
  let undelivered = 0
  let ok = 0
  let failed = 0
  let first = 0
  let last = 0
  const log = (message: string) => process.stderr.write(`${peer.name}: ${message}\n`)

  const workload = Workload.batches({ seed, batches, txPerBatch: flags["tx-per-batch"], txSize: flags["tx-size"] })
  const worker = async () => {
    let conn: Conn | undefined
    for (const txs of workload) {
      const payload = Envelope.encode(txs)
      if (payload.length > maxFrameBytes) {
        count("FrameTooLarge") // refused before it is queued (PEERS.md --max-frame-bytes)
        undelivered++
        continue
      }
      let delay = RECONNECT_FIRST_MS
      let notReady = 0
      for (;;) {
        if (abort.signal.aborted) {
          undelivered++
          break
        }
        if (conn === undefined) {
          try {
            conn = await dial(endpoint, options)
          } catch {
            count("ConnectFailed")
            await sleep(delay, abort.signal)
            delay = Math.min(delay * 2, RECONNECT_MAX_MS)
            continue
          }
        }
        if (first === 0) first = performance.now()
        try {
          const answered = await conn.send(payload)
          frames++
          transactions += txs.length
          bytes += payload.length
          if (answered) {
            acknowledged++
            ok++
          } else receiverSilent = true
          delivered.addAll(txs)
          last = performance.now()
        } catch (error) {
          if (error instanceof NotReady || error instanceof Rejected) {
            frames++
            transactions += txs.length
            bytes += payload.length
            failed++
          }
          if (error instanceof NotReady && notReady < NOT_READY_TRIES) {
            count("NotReady")
            await sleep(Math.min(NOT_READY_FIRST_MS * 2 ** notReady, NOT_READY_MAX_MS), abort.signal)
            notReady++
            continue
          }
          if (error instanceof NotReady || error instanceof Rejected) {
            count("Rejected")
            undelivered++
            log(`batch rejected: ${error.message}`)
          } else {
            if (!abort.signal.aborted) {
              count("ConnectionLost")
              log(`connection lost, resending: ${error instanceof Error ? error.message : String(error)}`)
            }
            conn.close()
            conn = undefined
            await sleep(delay, abort.signal)
            delay = Math.min(delay * 2, RECONNECT_MAX_MS)
            continue
          }
        }
        break
      }
    }
    conn?.close()
  }
  await Promise.all(Array.from({ length: workers }, worker))
  clearTimeout(deadline)
  process.off("SIGTERM", onSignal)
  process.off("SIGINT", onSignal)
  const report: Report = {
    event: "report",
    role: "sender",
    impl: peer.name,
    frames,
    transactions,
    bytes,
    digest: delivered.value,
    acknowledged,
    undelivered,
    responses: { ok, error: failed },
    errors,
    elapsedMs: Math.max(0, Math.round(last - first))
  }
  await printLine(report)
  if (undelivered > 0) log(`${undelivered} of ${batches} batches undelivered`)
  return undelivered === 0 ? EXIT_OK : EXIT_NOT_DELIVERED
}

/**
 * Runs the testee on `argv` (`receive …` or `send …`, without node and the script) and resolves
 * with its exit code: 0 success, 1 not everything delivered or a fatal error, 2 bad command line.
 * Stdout carries only the PEERS.md lines.
 */
export const runTestee = async (peer: Peer, argv: ReadonlyArray<string> = process.argv.slice(2)): Promise<number> => {
  const [role, ...rest] = argv
  const log = (message: string) => process.stderr.write(`${peer.name}: ${message}\n`)
  try {
    if (role === "receive" && peer.submit !== undefined) return await receive(peer.name, peer.submit, rest, log)
    if (role === "send" && peer.dial !== undefined) return await send(peer, peer.dial, rest)
    throw new PeerFlags.UsageError(
      role === "receive" || role === "send"
        ? `this testee has no ${role === "send" ? "sender (no dial)" : "receiver (no submit)"}`
        : `the first argument must be receive or send, got ${role === undefined ? "nothing" : JSON.stringify(role)}`
    )
  } catch (error) {
    if (PeerFlags.isUsageError(error)) {
      log(error.message)
      return EXIT_USAGE
    }
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    return EXIT_NOT_DELIVERED
  }
}

/**
 * {@link runTestee} on the process arguments, then `process.exit` with its code. The global
 * console is pointed at stderr first: PEERS.md's stdout carries only the JSON lines.
 */
export const main = (peer: Peer): void => {
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr })
  runTestee(peer).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${peer.name}: ${String(error)}\n`)
      process.exit(1)
    }
  )
}
