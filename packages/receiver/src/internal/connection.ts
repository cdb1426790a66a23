/**
 * One accepted connection: its decoder, its share of the work, its flow control; its responses
 * leave through `replies.ts`.
 *
 * Life cycle (`state`):
 *
 * ```
 * reading ──(peer EOF, oversize, timeout, shutdown)──▶ draining ──(queue empty)──▶ lingering ──▶ closed
 *    └─────────────────────────(socket closed by the peer or an error)────────────────────────────▶ closed
 * ```
 *
 * - reading: socket 'data' feeds the `FrameDecoder`; each frame becomes a {@link Job}. Frames
 *   are taken out of a read one at a time, each only when there is room for it (admission per
 *   frame): a 64 KiB read can hold 16,384 empty frames, and decoding them all at once queued
 *   millions of jobs and stalled every other connection. The undecoded rest of the read stays
 *   in the decoder and the socket stays paused until this connection's jobs make room.
 * - draining: reading has stopped; frames already decoded are still submitted and answered.
 * - lingering: we sent FIN after the last response; incoming bytes are read and dropped until
 *   the peer closes or `lingerMs` passes. Closing a TCP socket with unread input sends a reset
 *   that can destroy responses still in flight to the peer; lingering avoids that.
 *
 * Frames whose bytes all arrived are submitted even when the socket closes meanwhile (their
 * responses are then dropped): a fully received batch is never silently discarded.
 *
 * @module
 */
import type * as Net from "node:net"
import { Envelope, FrameDecoder, type FrameTooLarge, Response } from "@txlane/protocol"
import { Result } from "effect"
import { FrameTimeout, IdleTimeout } from "../errors.js"
import { type Core, DECODE_AHEAD_LIMIT, FREE_PARTIAL_BYTES, type Job } from "./core.js"
import * as FramePool from "./framePool.js"
import { withoutStack } from "./noStack.js"
import { startReading, stopReading } from "./reading.js"
import { Replies } from "./replies.js"
import * as Responses from "./responses.js"

export type { Core, Job, Settings } from "./core.js"

export type State = "reading" | "draining" | "lingering" | "closed"

export class Connection {
  state: State = "reading"
  /** Frames decoded and not yet finished (waiting behind another, queued, or being handled). */
  queuedFrames = 0
  /** True while reading is paused because the receiver-wide budget is spent. */
  pausedForRoom = false
  /** Closed to admit a new connection; no longer counts against `maxConnections`. */
  evicted = false
  private readonly decoder: FrameDecoder.FrameDecoder
  private readonly replies: Replies
  // decoder.retainedBytes + decoder.pendingBytes as last counted into stats.bufferedBytes: the
  // memory the decoder holds, not only the bytes of the frame (see FrameDecoder).
  private decoderBytes = 0
  // Frames not yet started, in order: with per-connection ordering, waiting for the one in flight
  // to finish; with ordering "none", for a handler (see `taken`).
  private readonly waiting: Array<Job> = []
  // Frames of this connection started (or, per-connection, handed to the shared queue) and not finished.
  private inFlight = 0
  // Ordering "none": this connection has a turn in the shared queue (see `taken`).
  private turnQueued = false
  private nextSeq = 0
  private paused = false
  // Whether the budget was spent at any time during the current pause (see `sweep`).
  private roomDuringPause = false
  // Times below are the receiver's coarse now (`core.clock`, see sweeper.ts), not Date.now().
  private pausedAt = 0
  // Reading was stopped at the handle (see stopReading) and must be restarted there.
  private readStopped = false
  // When the current partial frame started (-1 when between frames); see `sweep`.
  private frameStartedAt = -1
  private lastActivityAt: number
  // Reads that arrived while the decoder still held an undecoded one (a read in flight as we
  // paused); normally empty, never more than a read or two.
  private readonly backlog: Array<Buffer> = []
  private backlogBytes = 0
  private lingerSince = 0
  // Hysteresis: once paused, reading resumes only when this connection's own queue is below
  // this, half its capacity. Resuming at the first free slot re-armed the socket (a syscall and
  // a stream resume) every ~2 frames of a saturated connection, 0.47 epoll_ctl calls per frame;
  // this cut them 23× and the receiver's CPU per frame by ~10% (bench/PROFILE.md). It applies
  // whatever paused the connection: one paused for the receiver-wide budget also waits for its
  // own queue to fall below half, which costs it nothing, since it still has that much work queued
  // and its frames are served one at a time in the round-robin anyway.
  private readonly resumeBelow: number

  constructor(
    /** Process-unique id, used in logs and passed to `submit`. */
    readonly id: number,
    readonly socket: Net.Socket,
    private readonly core: Core
  ) {
    this.decoder = new FrameDecoder.FrameDecoder({
      maxFrameBytes: core.settings.maxFrameBytes,
      allocate: core.settings.reuseFrameBuffers ? FramePool.shared.take : undefined
    })
    this.lastActivityAt = core.clock.millis
    this.resumeBelow = Math.ceil(core.settings.connectionQueueCapacity / 2)
    this.replies = new Replies(socket, () => this.state === "closed")
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("end", () => this.onEnd())
    socket.on("drain", () => {
      this.replies.blocked = false
      this.updateFlow()
    })
    // 'close' always follows 'error'; the error itself needs no handling beyond that.
    socket.on("error", () => undefined)
    socket.on("close", () => this.onClose())
  }

  private onData(chunk: Buffer): void {
    // Lingering: input is read only to be dropped. Draining: a chunk already buffered by the stream.
    if (this.state !== "reading") return
    const now = this.core.clock.millis
    this.core.stats.bytesReceived += chunk.length
    this.lastActivityAt = now
    if (this.decoder.pendingBytes > 0 || this.backlog.length > 0) {
      // A read that was already on its way when we paused: decoded after the current one.
      this.backlog.push(chunk)
      this.backlogBytes += chunk.length
    } else {
      this.decoder.feed(chunk)
    }
    this.updateFlow()
  }

  /**
   * Decodes frames out of the current read while there is room for them (at most this
   * connection's free slots per call: bounded work per event). Returns how many were queued.
   */
  private pump(): number {
    const decoder = this.decoder
    let queued = 0
    const wasInFrame = decoder.inFrame
    while (this.hasRoomForFrame()) {
      if (decoder.pendingBytes === 0) {
        const chunk = this.backlog.shift()
        if (chunk === undefined) break
        this.backlogBytes -= chunk.length
        decoder.feed(chunk)
      }
      const frame = decoder.next()
      if (frame === undefined) {
        if (decoder.error !== undefined) break
        continue
      }
      this.enqueue(frame)
      queued++
    }
    this.countDecoderBytes()
    const error = decoder.error
    if (error !== undefined) {
      this.tooLarge(error)
      return queued
    }
    if (!decoder.inFrame) this.frameStartedAt = -1
    else if (!wasInFrame || queued > 0) this.frameStartedAt = this.core.clock.millis // a held read: its wait was ours
    return queued
  }

  /**
   * Room for one more decoded frame: below this connection's own limit and answering its peer
   * (`replies.blocked`), and below the receiver-wide `queueCapacity` — except that a connection with
   * nothing queued may always queue one frame. That exception is what keeps a legitimate
   * connection's latency independent of how many frames other connections hold (SPEC §6: bad
   * input on one connection must not affect another); it lets the queue exceed `queueCapacity`
   * by at most one frame per connection.
   */
  private hasRoomForFrame(): boolean {
    const settings = this.core.settings
    // A closed connection's responses are dropped: its unread ones no longer hold it back.
    const blocked = this.replies.blocked && this.state !== "closed"
    if (this.queuedFrames >= settings.connectionQueueCapacity || blocked) return false
    return this.queuedFrames === 0 || this.core.stats.queuedFrames < settings.queueCapacity
  }

  private enqueue(payload: Uint8Array): void {
    const stats = this.core.stats
    stats.framesReceived++
    stats.queuedFrames++
    stats.bufferedBytes += FramePool.shared.heldBytes(payload)
    this.queuedFrames++
    const job: Job = { conn: this, seq: this.nextSeq++, payload, decoded: this.decodeAhead(payload) }
    if (this.core.settings.ordering === "none") {
      this.waiting.push(job)
      if (!this.turnQueued) this.takeTurn(job)
    } else if (this.inFlight > 0) {
      this.waiting.push(job)
    } else {
      this.inFlight++
      this.core.dispatch(job)
    }
  }

  // The frame's envelope, decoded now while its bytes are in the CPU cache, within
  // DECODE_AHEAD_LIMIT (see there); undefined to leave it to the handler.
  private decodeAhead(payload: Uint8Array): Job["decoded"] {
    const stats = this.core.stats
    if (
      payload.length === 0 ||
      this.core.settings.payload === "raw" ||
      stats.transactionsDecodedAhead >= DECODE_AHEAD_LIMIT
    )
      return undefined
    const decoded = withoutStack(() => Envelope.decode(payload))
    if (Result.isSuccess(decoded)) stats.transactionsDecodedAhead += decoded.success.length
    return decoded
  }

  // Ordering "none": the queued job stands for "this connection's earliest waiting frame", which
  // is what `taken` hands out, whichever job it was.
  private takeTurn(job: Job): void {
    this.turnQueued = true
    this.core.dispatch(job)
  }

  /** Ordering "none": whether this connection has a turn in the shared queue. */
  get hasTurnQueued(): boolean {
    return this.turnQueued
  }

  /**
   * Ordering "none": called by the handler that took this connection's job off the shared queue;
   * returns the frame to handle, this connection's earliest waiting one (so frames are started in
   * order), or `undefined` if a handler going on with this connection took them all meanwhile.
   * If frames still wait, the connection takes another turn at the back of the queue. One turn per
   * connection in the queue keeps the service round-robin between connections (a connection with
   * a full queue of its own would otherwise put all its frames ahead of another's one), while its
   * frames still run in parallel as handlers take its turns.
   */
  taken(): Job | undefined {
    this.turnQueued = false
    const job = this.waiting.shift()
    if (job === undefined) return undefined
    this.inFlight++
    if (this.waiting.length > 0) this.takeTurn(this.waiting[0]!)
    return job
  }

  /**
   * Called by a handler when `job` is finished; `response` is the framed answer (json mode).
   * Returns this connection's next waiting frame, now in flight, for the same handler to take on
   * at once when `keep` is true; otherwise `undefined`, and that frame goes through the shared
   * queue (per-connection: dispatched now, as it is eligible only now; "none": it already has a
   * turn there).
   */
  complete(job: Job, response: Buffer | undefined, keep: boolean): Job | undefined {
    const stats = this.core.stats
    stats.queuedFrames--
    stats.bufferedBytes -= FramePool.shared.heldBytes(job.payload)
    this.queuedFrames--
    this.inFlight--
    let next: Job | undefined
    if (this.waiting.length > 0) {
      if (keep) {
        next = this.waiting.shift()!
        this.inFlight++
      } else if (this.core.settings.ordering === "per-connection") {
        this.inFlight++
        this.core.dispatch(this.waiting.shift()!)
      }
      // Ordering "none" without `keep`: the waiting frames have a turn in the shared queue
      // (`taken`); one is there whenever frames wait.
    }
    if (response !== undefined) this.replies.send(job.seq, response)
    // `submit` has settled: the payload's buffer may serve another frame (see README, "Payload views").
    FramePool.shared.release(job.payload)
    if (this.state === "draining") this.maybeFinishDrain()
    else if (this.state === "closed") this.pumpClosed()
    else this.updateFlow()
    this.core.roomChanged()
    return next
  }

  private tooLarge(error: FrameTooLarge): void {
    this.core.report(error, this.id)
    if (this.core.settings.respond === "json") {
      this.replies.send(this.nextSeq++, Responses.failure(Response.ErrorText.tooLarge(error.length, error.max)))
    }
    this.startDrain()
  }

  private onEnd(): void {
    if (this.state !== "reading") return
    // 'end' follows the last read, and reads stop while one is undecoded: nothing is pending here.
    const truncated = this.decoder.end()
    this.countDecoderBytes()
    if (truncated !== undefined) this.core.report(truncated, this.id)
    this.startDrain()
  }

  private onClose(): void {
    if (this.state === "closed") return
    const wasReading = this.state === "reading"
    this.setPaused(false)
    this.leaveRoomSet()
    this.state = "closed"
    this.core.closed(this)
    if (wasReading) {
      this.pumpClosed()
    } else {
      this.decoder.end()
      this.countDecoderBytes()
    }
  }

  // Closed (reset) with complete frames still undecoded in its last read: they are still
  // submitted, under the same admission as ever (more each time one of its jobs finishes, see
  // `complete`), so a client cannot bypass admission by resetting. When the read is used up, a
  // partial frame at its end is discarded and counted, and its memory released.
  private pumpClosed(): void {
    if (this.hasPending()) this.pump()
    if (this.hasPending()) return
    const truncated = this.decoder.end()
    if (truncated !== undefined) this.core.report(truncated, this.id)
    this.countDecoderBytes()
  }

  private hasPending(): boolean {
    return this.decoder.pendingBytes > 0 || this.backlog.length > 0
  }

  // Every complete frame of the undecoded reads, without admission: used only when reading
  // stops for good (shutdown), where the deadline bounds the work.
  private flushPending(): void {
    const decoder = this.decoder
    while (this.hasPending()) {
      if (decoder.pendingBytes === 0) {
        const chunk = this.backlog.shift()!
        this.backlogBytes -= chunk.length
        decoder.feed(chunk)
      }
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) this.enqueue(frame)
      if (decoder.error !== undefined) {
        this.backlog.length = 0
        this.backlogBytes = 0
      }
    }
  }

  /**
   * Stops reading; frames already decoded are still submitted and answered, then FIN.
   * Returns whether a partial frame was discarded.
   */
  startDrain(): boolean {
    if (this.state !== "reading") return false
    this.state = "draining"
    this.readStopped = stopReading(this.socket) || this.readStopped
    this.setPaused(true)
    this.leaveRoomSet()
    // Frames that arrived whole are submitted (only a shutdown stops reading with reads undecoded).
    this.flushPending()
    const discarded = this.decoder.end() !== undefined
    this.countDecoderBytes()
    this.frameStartedAt = -1
    this.maybeFinishDrain()
    return discarded
  }

  private maybeFinishDrain(): void {
    if (this.state !== "draining" || this.queuedFrames > 0) return
    this.state = "lingering"
    this.lingerSince = this.core.clock.millis
    this.socket.end()
    this.setPaused(false)
    startReading(this.socket, this.readStopped)
    this.readStopped = false
  }

  /** Closes now, without flushing (forced stop). */
  destroy(): void {
    this.socket.destroy()
  }

  private countDecoderBytes(): void {
    const now = this.decoder.retainedBytes + this.decoder.pendingBytes + this.backlogBytes
    this.core.stats.bufferedBytes += now - this.decoderBytes
    this.decoderBytes = now
  }

  private leaveRoomSet(): void {
    if (this.pausedForRoom) {
      this.pausedForRoom = false
      this.core.pausedForRoom.delete(this)
    }
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return
    this.paused = paused
    this.core.stats.connectionsPaused += paused ? 1 : -1
  }

  /** Pauses or resumes reading from what this connection and the receiver hold right now. */
  updateFlow(): void {
    if (this.state !== "reading") return
    const pumped = this.pump()
    if (this.state !== "reading") return // an oversize header
    const settings = this.core.settings
    const stats = this.core.stats
    const pending = this.hasPending()
    const ownLimit = this.paused ? this.resumeBelow : settings.connectionQueueCapacity
    const own = this.queuedFrames >= ownLimit || this.replies.blocked
    // Frames left undecoded while this connection has room of its own: waiting for queueCapacity.
    const room =
      (pending && !own) ||
      (stats.bufferedBytes >= settings.maxBufferedBytes &&
        (this.queuedFrames > 0 || this.decoderBytes > FREE_PARTIAL_BYTES))
    if (room !== this.pausedForRoom) {
      this.pausedForRoom = room
      if (room) this.core.pausedForRoom.add(this)
      else this.core.pausedForRoom.delete(this)
    } else if (room && pumped > 0) {
      // Round-robin: a connection that just got room goes to the back of the line.
      this.core.pausedForRoom.delete(this)
      this.core.pausedForRoom.add(this)
    }
    if (own || room || pending) {
      if (room) this.roomDuringPause = true
      if (!this.paused) {
        this.setPaused(true)
        this.pausedAt = this.core.clock.millis
        this.roomDuringPause = room
        this.readStopped = stopReading(this.socket)
      }
    } else if (this.paused) {
      this.setPaused(false)
      const now = this.core.clock.millis
      // A pause caused only by our own slowness does not count against the sender's frame clock.
      if (this.frameStartedAt >= 0 && !this.roomDuringPause) this.frameStartedAt += now - this.pausedAt
      this.lastActivityAt = now
      startReading(this.socket, this.readStopped)
      this.readStopped = false
    }
  }

  /**
   * How long this connection has been idle — reading, between frames, nothing queued or
   * undecoded — in milliseconds; -1 when it is not idle.
   */
  idleMs(now: number): number {
    if (this.state !== "reading" || this.frameStartedAt >= 0 || this.queuedFrames > 0) return -1
    if (this.decoder.inFrame || this.hasPending()) return -1
    return now - this.lastActivityAt
  }

  /** Closes an idle connection to make room for a new one (`maxConnections` reached). */
  evict(): void {
    this.evicted = true
    this.startDrain()
  }

  /**
   * Timeouts, checked by the receiver's sweeper (one timer for all connections, not one per
   * chunk). The frame clock runs from a frame's first byte; it is frozen while we paused reading
   * for this connection's own backlog (our doing), and keeps running while the receiver-wide
   * budget is spent — otherwise partial frames holding that budget could never be timed out.
   *
   * `now` is exact (the sweeper just read the clock); this connection's stamps are the coarse now
   * of their time, up to `slackMs` (one tick) earlier than the event. Every elapsed time is
   * therefore reduced by `slackMs`, so that no timeout fires early.
   */
  sweep(now: number, slackMs: number): void {
    const settings = this.core.settings
    if (this.state === "reading") {
      const frozen = this.paused && !this.roomDuringPause
      const inFrame = this.frameStartedAt >= 0 && !frozen
      if (inFrame && now - this.frameStartedAt - slackMs > settings.frameTimeoutMs) {
        const received = this.decoder.bufferedBytes
        this.core.report(new FrameTimeout({ timeoutMs: settings.frameTimeoutMs, received }), this.id)
        this.startDrain()
      } else if (this.idleMs(now) - slackMs > settings.idleTimeoutMs) {
        this.core.report(new IdleTimeout({ timeoutMs: settings.idleTimeoutMs }), this.id)
        this.startDrain()
      }
    } else if (this.state === "lingering" && now - this.lingerSince - slackMs > settings.lingerMs) {
      this.socket.destroy()
    }
  }
}
