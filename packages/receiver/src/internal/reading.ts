/**
 * Stopping and restarting a socket's reads at the system call (see {@link stopReading}).
 *
 * @module
 */
import type * as Net from "node:net"

interface Handle {
  reading?: boolean
  readStop?: () => number
  readStart?: () => number
}
const handleOf = (socket: Net.Socket): Handle | undefined => (socket as unknown as { _handle?: Handle })._handle

/**
 * Stops reading `socket` at the system call; returns whether it did. `socket.pause()` alone only
 * stops 'data' events: Node's stream keeps reading until its buffer holds the high-water mark
 * (64 KiB) of *bytes* — 65,536 one-byte reads from a peer sending 1-byte writes, each its own
 * allocation (~250 bytes of memory per byte: 16 MB per paused connection). The handle's
 * `reading` flag is left true, so the stream does not restart it behind our back
 * (`Socket._read` starts the handle only when the flag is false); {@link startReading} restarts it.
 */
export const stopReading = (socket: Net.Socket): boolean => {
  socket.pause()
  const handle = handleOf(socket)
  if (handle?.reading !== true || typeof handle.readStop !== "function" || socket.destroyed) return false
  handle.readStop()
  return true
}

/** Undoes {@link stopReading}. */
export const startReading = (socket: Net.Socket, stopped: boolean): void => {
  if (stopped && !socket.destroyed) handleOf(socket)?.readStart?.()
  socket.resume()
}
