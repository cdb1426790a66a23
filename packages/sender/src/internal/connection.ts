/**
 * One persistent connection: a `node:net` socket, always read, with the batches it carries.
 *
 * `node:net` is used directly (not `effect/socket`) for control over cork/uncork, `drain`,
 * half-close and per-write callbacks, which the fire-and-forget delivery rules are built on.
 * Socket events never run Effects: they update plain fields and call the owning worker's
 * `wake`, and the worker fiber does everything else.
 *
 * @module
 */
import * as net from "node:net"
import { Endpoint, FrameDecoder } from "@txlane/protocol"
import { Effect } from "effect"
import { ConnectFailed } from "../errors.js"
import type { Resolved } from "../Options.js"
import type { Batch } from "./batch.js"

/** Receives each chunk's complete response frames (one listener per sender, not per batch). */
export type OnFrames = (connection: Connection, frames: ReadonlyArray<Uint8Array>) => void

/** A connected socket and what the worker has written on it. */
export class Connection {
  /** Set by 'close': nothing more can be written or read. */
  closed = false
  /** The error that ended the connection (`code` or message), if one did. */
  error: string | undefined = undefined
  /** The worker closed it because a response took longer than `ackTimeout`. */
  timedOut = false
  /** The worker half-closed it after finishing its work (anything else is a broken connection). */
  graceful = false
  /** Its batches have been handed back to the worker; late write callbacks must not touch them. */
  recovered = false
  /**
   * The peer is taken to answer every frame: written batches wait in `inflight` for their answer
   * (acknowledged mode, or fire-and-forget against an answering peer). Otherwise they wait in
   * `unflushed` for the write callback.
   */
  tracked = true
  /** `responses: "auto"`: the silence deadline passed once and one I/O poll has run since. */
  pollOnce = false
  /**
   * Tracked: at most one frame in flight until the peer accepts one — on a new connection, and
   * again after a transient answer. A peer that answers "not ready" and closes while our later
   * frames sit unread makes the kernel reset the connection (ECONNRESET), and its answer is lost
   * with it; with one frame in flight there is nothing unread.
   */
  probing = true
  /** A transient answer arrived: the batches a close leaves unanswered are resent without charge. */
  sawTransient = false
  /** Frames written on this connection. */
  written = 0
  /** Responses read on this connection. */
  answered = 0
  /** The peer took traffic on it: answered a frame (untracked: a frame was written). One that closes without is refused. */
  get stood(): boolean {
    return this.tracked ? this.answered > 0 : this.written > 0
  }
  /** Untracked: written batches whose write callback has not fired, oldest first. */
  readonly unflushed: Array<Batch> = []
  /** Tracked: written batches waiting for their response, oldest first (responses come in order). */
  readonly inflight: Array<Batch> = []
  /** Untracked: the write callback of every payload (one function per connection, not per write). */
  readonly onFlushed: (error?: Error | null) => void
  /**
   * `responses: "auto"` before the peer is known: frames of `inflight` whose write completed.
   * Callbacks fire in write order, so they are its oldest ones. Lets a connection that closes
   * after the peer was found silent on another one settle its frames as a silent peer's (see
   * `recover`).
   */
  flushedUnknown = 0
  readonly onFlushedUnknown = (error?: Error | null): void => {
    if (!error) this.flushedUnknown++
  }
  private readonly decoder: FrameDecoder.FrameDecoder

  constructor(
    readonly socket: net.Socket,
    maxResponseBytes: number,
    onFrames: OnFrames,
    onDelivered: (batch: Batch) => void,
    wake: () => void
  ) {
    this.decoder = FrameDecoder.make({ maxFrameBytes: maxResponseBytes })
    this.onFlushed = (error) => {
      // Callbacks fire in write order; after the first failure none succeeds, so the successful
      // ones are always a prefix of `unflushed`.
      if (error || this.recovered) return
      const batch = this.unflushed.shift()
      if (batch !== undefined) onDelivered(batch)
      // A worker finishing up waits for exactly this; waking it on every callback would only spin it.
      if (this.unflushed.length === 0) wake()
    }
    socket.on("data", (chunk: Buffer) => {
      const { frames, error } = this.decoder.push(chunk)
      if (frames.length > 0) onFrames(this, frames)
      if (error !== undefined) {
        // The response stream cannot be resynchronised (SPEC §3): drop the connection.
        this.error = error.message
        socket.destroy()
      }
    })
    socket.on("drain", wake)
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.error ??= error.code ?? error.message
    })
    socket.on("close", () => {
      this.closed = true
      wake()
    })
  }
}

/**
 * Connects once, within `connectTimeoutMs` of the `Clock`. The `Connection` (with every listener
 * attached) is built in the same tick as 'connect', so no socket event is ever missed or left
 * unhandled, and handed to `make` before the fiber resumes; a timeout interrupts the attempt,
 * whose finalizer destroys the socket, so neither path can leak it.
 */
export const connect = (
  options: Resolved,
  make: (socket: net.Socket) => Connection
): Effect.Effect<Connection, ConnectFailed> =>
  Effect.callback<Connection, ConnectFailed>((resume) => {
    const socket = net.connect(Endpoint.toNetOptions(options.endpoint))
    const onError = (error: NodeJS.ErrnoException) => {
      cleanup()
      socket.destroy()
      resume(Effect.fail(new ConnectFailed({ endpoint: options.endpointText, reason: error.code ?? error.message })))
    }
    const onConnect = () => {
      cleanup()
      // Frames are corked into large writes already; Nagle would only delay small acknowledged frames.
      if (options.endpoint._tag === "Tcp") socket.setNoDelay(true)
      resume(Effect.succeed(make(socket)))
    }
    const cleanup = () => {
      socket.off("error", onError)
      socket.off("connect", onConnect)
    }
    socket.once("error", onError)
    socket.once("connect", onConnect)
    return Effect.sync(() => {
      cleanup()
      socket.destroy()
    })
  }).pipe(
    Effect.timeoutOrElse({
      duration: options.connectTimeoutMs,
      orElse: () => Effect.fail(new ConnectFailed({ endpoint: options.endpointText, reason: "ETIMEDOUT" }))
    })
  )
