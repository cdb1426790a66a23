/**
 * A connection's responses on their way out: written in request order (one that finished early
 * waits for the ones before it, with `ordering: "none"`), the responses of one tick corked into
 * one system call, and a flag telling the connection that its peer stopped reading them.
 *
 * @module
 */
import type * as Net from "node:net"

/** The responses of one connection. */
export class Replies {
  /**
   * True while the socket's write buffer is full: the peer is not reading its responses, and the
   * connection stops reading its requests until it does (otherwise its answers would pile up here
   * without bound). Cleared on the socket's 'drain'.
   */
  blocked = false
  private nextWrite = 0
  // Responses that finished before an earlier one (ordering "none" only).
  private outOfOrder: Map<number, Buffer> | undefined = undefined
  private corked = false

  constructor(
    private readonly socket: Net.Socket,
    /** Whether the connection has closed: its responses are then dropped. */
    private readonly isClosed: () => boolean
  ) {}

  /** Sends the response to request `seq` (0, 1, 2, … per connection), after those before it. */
  send(seq: number, response: Buffer): void {
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
    if (this.isClosed() || socket.destroyed || !socket.writable) return
    // Responses finished in the same tick leave in one syscall.
    if (!this.corked) {
      this.corked = true
      socket.cork()
      process.nextTick(() => {
        this.corked = false
        socket.uncork()
      })
    }
    if (!socket.write(bytes)) this.blocked = true
  }
}
