/**
 * One accepted connection: its decoder, its share of the work, its responses, its flow control.
 *
 * Life cycle (`state`):
 *
 * ```
 * reading ──(peer EOF, oversize, timeout, shutdown)──▶ draining ──(queue empty)──▶ lingering ──▶ closed
 *    └─────────────────────────(socket closed by the peer or an error)────────────────────────────▶ closed
 * ```
 *
 * - reading: socket 'data' feeds the `FrameDecoder`; each frame becomes a {@link Job}.
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
import { FrameDecoder, type FrameTooLarge, Response } from "@txlane/protocol"
import { FrameTimeout, IdleTimeout, type InputError } from "../errors.js"
import type { Counters } from "./counters.js"
import * as Responses from "./responses.js"

/** One decoded frame on its way to a handler. */
export interface Job {
  readonly conn: Connection
  /** Position among this connection's frames: responses are written in this order. */
  readonly seq: number
  readonly payload: Uint8Array
}

/** The receiver-wide settings a connection needs (numbers; `Infinity` where "unbounded"). */
export interface Settings {
  readonly maxFrameBytes: number
  readonly ordering: "per-connection" | "none"
  readonly respond: "none" | "json"
  readonly frameTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly maxBufferedBytes: number
  readonly queueCapacity: number
  readonly connectionQueueCapacity: number
  readonly lingerMs: number
}

/** What a connection needs from the receiver. */
export interface Core {
  readonly settings: Settings
  readonly stats: Counters
  /** Connections paused because the receiver-wide budget is spent. */
  readonly pausedForRoom: Set<Connection>
  /** Hands a job to the handler pool (never blocks: admission is controlled by pausing reads). */
  dispatch(job: Job): void
  /** Counts, logs and forwards one bad input. */
  report(error: InputError, connectionId: number): void
  /** Called after a job finished: budget may have been freed. */
  roomChanged(): void
  /** Called once when the socket has closed. */
  closed(conn: Connection): void
}

/**
 * Every connection may hold this much of a partial frame without asking the receiver-wide
 * budget. Connections sending ordinary frames therefore keep flowing while a few huge partial
 * frames hold the budget (otherwise they could pause everyone, themselves included, and nothing
 * would ever complete); the cost is bounded by maxConnections × 64 KiB.
 */
export const FREE_PARTIAL_BYTES = 64 * 1024

export type State = "reading" | "draining" | "lingering" | "closed"

export class Connection {
  state: State = "reading"
  /** Frames decoded and not yet finished (waiting behind another, queued, or being handled). */
  queuedFrames = 0
  /** True while reading is paused because the receiver-wide budget is spent. */
  pausedForRoom = false
  private readonly decoder: FrameDecoder.FrameDecoder
  // decoder.bufferedBytes as last counted into stats.bufferedBytes.
  private decoderBytes = 0
  // Per-connection ordering: frames waiting for the one in flight to finish.
  private readonly waiting: Array<Job> = []
  // Jobs of this connection handed to the pool and not finished.
  private inFlight = 0
  private nextSeq = 0
  private nextWrite = 0
  // Responses that finished before an earlier one (ordering "none" only).
  private outOfOrder: Map<number, Buffer> | undefined = undefined
  private paused = false
  // Whether the budget was spent at any time during the current pause (see `sweep`).
  private roomDuringPause = false
  private pausedAt = 0
  private writeBlocked = false
  private corked = false
  // When the current partial frame started (0 when between frames); see `sweep`.
  private frameStartedAt = 0
  private lastActivityAt: number
  private lingerSince = 0

  constructor(
    /** Process-unique id, used in logs and passed to `submit`. */
    readonly id: number,
    readonly socket: Net.Socket,
    private readonly core: Core
  ) {
    this.decoder = new FrameDecoder.FrameDecoder({ maxFrameBytes: core.settings.maxFrameBytes })
    this.lastActivityAt = Date.now()
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("end", () => this.onEnd())
    socket.on("drain", () => {
      this.writeBlocked = false
      this.updateFlow()
    })
    // 'close' always follows 'error'; the error itself needs no handling beyond that.
    socket.on("error", () => undefined)
    socket.on("close", () => this.onClose())
  }

  private onData(chunk: Buffer): void {
    // Lingering: input is read only to be dropped. Draining: a chunk already buffered by the stream.
    if (this.state !== "reading") return
    const now = Date.now()
    this.core.stats.bytesReceived += chunk.length
    this.lastActivityAt = now
    const wasInFrame = this.decoder.inFrame
    const { frames, error } = this.decoder.push(chunk)
    for (let i = 0; i < frames.length; i++) this.enqueue(frames[i]!)
    this.countDecoderBytes()
    if (error !== undefined) {
      this.tooLarge(error)
      return
    }
    if (!this.decoder.inFrame) this.frameStartedAt = 0
    else if (!wasInFrame || frames.length > 0) this.frameStartedAt = now
    this.updateFlow()
  }

  private enqueue(payload: Uint8Array): void {
    const stats = this.core.stats
    stats.framesReceived++
    stats.queuedFrames++
    stats.bufferedBytes += payload.length
    this.queuedFrames++
    const job: Job = { conn: this, seq: this.nextSeq++, payload }
    if (this.inFlight > 0 && this.core.settings.ordering === "per-connection") {
      this.waiting.push(job)
    } else {
      this.inFlight++
      this.core.dispatch(job)
    }
  }

  /**
   * Called by a handler when `job` is finished; `response` is the framed answer (json mode).
   * Returns this connection's next frame, now in flight, for the same handler to take on at once
   * when `keep` is true (per-connection ordering makes it eligible only now); otherwise that frame
   * is dispatched to the shared queue and `undefined` is returned.
   */
  complete(job: Job, response: Buffer | undefined, keep: boolean): Job | undefined {
    const stats = this.core.stats
    stats.queuedFrames--
    stats.bufferedBytes -= job.payload.length
    this.queuedFrames--
    this.inFlight--
    let next: Job | undefined
    if (this.waiting.length > 0) {
      this.inFlight++
      next = this.waiting.shift()!
      if (!keep) {
        this.core.dispatch(next)
        next = undefined
      }
    }
    if (response !== undefined) this.respondInOrder(job.seq, response)
    if (this.state === "draining") this.maybeFinishDrain()
    else this.updateFlow()
    this.core.roomChanged()
    return next
  }

  /** Frames of this connection a forced stop would leave unsubmitted (waiting, not yet dispatched). */
  takeWaiting(): Array<Job> {
    return this.waiting.splice(0)
  }

  private respondInOrder(seq: number, response: Buffer): void {
    if (seq !== this.nextWrite) {
      if (this.outOfOrder === undefined) this.outOfOrder = new Map()
      this.outOfOrder.set(seq, response)
      return
    }
    this.write(response)
    this.nextWrite++
    const later = this.outOfOrder
    if (later !== undefined && later.size > 0) {
      for (let next = later.get(this.nextWrite); next !== undefined; next = later.get(this.nextWrite)) {
        later.delete(this.nextWrite)
        this.write(next)
        this.nextWrite++
      }
    }
  }

  private write(bytes: Buffer): void {
    const socket = this.socket
    if (this.state === "closed" || socket.destroyed || !socket.writable) return
    // Responses finished in the same tick leave in one syscall.
    if (!this.corked) {
      this.corked = true
      socket.cork()
      process.nextTick(() => {
        this.corked = false
        socket.uncork()
      })
    }
    if (!socket.write(bytes)) {
      // The peer is not reading its responses: stop reading its requests until it does
      // (otherwise its answers would pile up here without bound).
      this.writeBlocked = true
    }
  }

  private tooLarge(error: FrameTooLarge): void {
    this.core.report(error, this.id)
    if (this.core.settings.respond === "json") {
      this.respondInOrder(this.nextSeq++, Responses.failure(Response.ErrorText.tooLarge(error.length, error.max)))
    }
    this.startDrain()
  }

  private onEnd(): void {
    if (this.state !== "reading") return
    const truncated = this.decoder.end()
    this.countDecoderBytes()
    if (truncated !== undefined) this.core.report(truncated, this.id)
    this.startDrain()
  }

  private onClose(): void {
    if (this.state === "closed") return
    if (this.state === "reading") {
      const truncated = this.decoder.end()
      if (truncated !== undefined) this.core.report(truncated, this.id)
    }
    this.decoder.end()
    this.countDecoderBytes()
    this.setPaused(false)
    this.leaveRoomSet()
    this.state = "closed"
    this.core.closed(this)
  }

  /**
   * Stops reading; frames already decoded are still submitted and answered, then FIN.
   * Returns whether a partial frame was discarded.
   */
  startDrain(): boolean {
    if (this.state !== "reading") return false
    this.state = "draining"
    this.socket.pause()
    this.setPaused(true)
    this.leaveRoomSet()
    const discarded = this.decoder.end() !== undefined
    this.countDecoderBytes()
    this.frameStartedAt = 0
    this.maybeFinishDrain()
    return discarded
  }

  private maybeFinishDrain(): void {
    if (this.state !== "draining" || this.queuedFrames > 0) return
    this.state = "lingering"
    this.lingerSince = Date.now()
    this.socket.end()
    this.setPaused(false)
    this.socket.resume()
  }

  /** Closes now, without flushing (forced stop). */
  destroy(): void {
    this.socket.destroy()
  }

  private countDecoderBytes(): void {
    const now = this.decoder.bufferedBytes
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
    const settings = this.core.settings
    const stats = this.core.stats
    const own = this.queuedFrames >= settings.connectionQueueCapacity || this.writeBlocked
    const room =
      stats.queuedFrames >= settings.queueCapacity ||
      (stats.bufferedBytes >= settings.maxBufferedBytes &&
        (this.queuedFrames > 0 || this.decoderBytes > FREE_PARTIAL_BYTES))
    if (room !== this.pausedForRoom) {
      this.pausedForRoom = room
      if (room) this.core.pausedForRoom.add(this)
      else this.core.pausedForRoom.delete(this)
    }
    if (own || room) {
      if (room) this.roomDuringPause = true
      if (!this.paused) {
        this.setPaused(true)
        this.pausedAt = Date.now()
        this.roomDuringPause = room
        this.socket.pause()
      }
    } else if (this.paused) {
      this.setPaused(false)
      const now = Date.now()
      // A pause caused only by our own slowness does not count against the sender's frame clock.
      if (this.frameStartedAt > 0 && !this.roomDuringPause) this.frameStartedAt += now - this.pausedAt
      this.lastActivityAt = now
      this.socket.resume()
    }
  }

  /**
   * Timeouts, checked by the receiver's sweeper (one timer for all connections, not one per
   * chunk). The frame clock runs from a frame's first byte; it is frozen while we paused reading
   * for this connection's own backlog (our doing), and keeps running while the receiver-wide
   * budget is spent — otherwise partial frames holding that budget could never be timed out.
   */
  sweep(now: number): void {
    const settings = this.core.settings
    if (this.state === "reading") {
      const frozen = this.paused && !this.roomDuringPause
      if (this.frameStartedAt > 0 && !frozen && now - this.frameStartedAt > settings.frameTimeoutMs) {
        const received = this.decoder.bufferedBytes
        this.core.report(new FrameTimeout({ timeoutMs: settings.frameTimeoutMs, received }), this.id)
        this.startDrain()
      } else if (
        this.frameStartedAt === 0 &&
        this.queuedFrames === 0 &&
        !this.decoder.inFrame &&
        now - this.lastActivityAt > settings.idleTimeoutMs
      ) {
        this.core.report(new IdleTimeout({ timeoutMs: settings.idleTimeoutMs }), this.id)
        this.startDrain()
      }
    } else if (this.state === "lingering" && now - this.lingerSince > settings.lingerMs) {
      this.socket.destroy()
    }
  }
}
