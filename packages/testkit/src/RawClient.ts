/**
 * A raw client of a receiver: writes bytes as they are (valid frames or garbage), decodes the
 * responses with the protocol's own decoder, and lets a test await a count of responses or the
 * server's close. Every wait is woken by a socket event, never by polling.
 *
 * @module
 */
import * as Net from "node:net"
import { Endpoint, Frame, FrameDecoder, FrameEncoder, Response } from "@txlane/protocol"
import { Result } from "effect"

/** Frames `payloads` into one buffer. */
export const frames = (...payloads: Array<Uint8Array>): Buffer => Buffer.from(FrameEncoder.concat(payloads))

/** A 4-byte header announcing `length`, with no payload. */
export const header = (length: number): Buffer => {
  const b = Buffer.alloc(Frame.HEADER_BYTES)
  Frame.writeLength(b, 0, length)
  return b
}

/** A raw client connection: see the module. */
export class RawClient {
  /** The responses decoded so far, in order. */
  readonly responses: Array<Response.Response> = []
  /** The server ended its side (EOF). */
  ended = false
  /** The socket is closed (either side). */
  closed = false
  /** The socket's error, if any. */
  error: Error | undefined
  /** Why the server's bytes did not decode as responses, if they did not. */
  malformed: Error | undefined
  /** The decoder of the server's bytes: its `bufferedBytes` are an answer cut short. */
  readonly decoder = new FrameDecoder.FrameDecoder()
  private readonly waiters = new Set<() => void>()

  private constructor(
    /** The underlying socket. */
    readonly socket: Net.Socket
  ) {
    socket.on("data", (chunk: Buffer) => {
      const { frames: payloads, error } = this.decoder.push(chunk)
      for (const p of payloads) {
        const decoded = Response.decode(p)
        if (Result.isFailure(decoded)) this.malformed ??= decoded.failure
        else this.responses.push(decoded.success)
      }
      if (error) this.malformed ??= error
      this.wake()
    })
    socket.on("end", () => {
      this.ended = true
      this.wake()
    })
    socket.on("error", (e) => {
      this.error = e
      this.wake()
    })
    socket.on("close", () => {
      this.closed = true
      this.wake()
    })
  }

  /** Connects to `address` (a PEERS.md endpoint: a socket path, `unix:…` or `tcp://host:port`). */
  static connect(address: string): Promise<RawClient> {
    const endpoint = Endpoint.parse(address)
    if (Result.isFailure(endpoint)) return Promise.reject(endpoint.failure)
    return new Promise((resolve, reject) => {
      const socket = Net.connect(Endpoint.toNetOptions(endpoint.success))
      socket.once("connect", () => {
        socket.off("error", reject)
        resolve(new RawClient(socket))
      })
      socket.once("error", reject)
    })
  }

  /** Writes `bytes`; false when the socket buffered them (see `drain`). */
  write(bytes: Uint8Array): boolean {
    return this.socket.write(bytes)
  }

  /** Resolves once `condition` holds, re-checked on every socket event; rejects after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (this.malformed) return Promise.reject(this.malformed)
    if (condition()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      }, timeoutMs)
      const check = () => {
        if (this.malformed === undefined && !condition()) return
        clearTimeout(timer)
        this.waiters.delete(check)
        if (this.malformed) reject(this.malformed)
        else resolve()
      }
      this.waiters.add(check)
    })
  }

  /** Resolves with the responses once there are at least `n`; rejects if the connection closes first. */
  async awaitResponses(n: number, timeoutMs = 5000): Promise<Array<Response.Response>> {
    await this.until(() => this.responses.length >= n || this.closed, timeoutMs, `${n} responses`)
    if (this.responses.length < n) throw new Error(`connection closed after ${this.responses.length} of ${n} responses`)
    return this.responses
  }

  /** Resolves once the server closed its side (EOF or close). */
  awaitServerClose(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.ended || this.closed, timeoutMs, "server close")
  }

  /** Destroys the socket. */
  destroy(): void {
    this.socket.destroy()
  }

  private wake(): void {
    for (const check of [...this.waiters]) check()
  }
}
