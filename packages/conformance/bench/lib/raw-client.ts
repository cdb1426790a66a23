/**
 * The latency floor of a Node sender: one plain `node:net` connection that writes each frame at
 * once and matches the answers in order (the protocol answers a connection's frames in order,
 * SPEC §5). No queue, no workers, no retries — what any Node program pays for a round trip on
 * this machine, to set the txlane sender's tail against in the same run. `send` encodes the
 * envelope first (`Envelope.encode`, as the raw pump of the user-path section does): the floor
 * for `send(transactions)`, which does that work too.
 *
 * It has the shape of the sender's Promise API that the latency sender uses (`sendPayload`,
 * `send`, `close`), so the probe measures both through the same code.
 *
 * @module
 */
import { createConnection } from "node:net"
import { Endpoint, Envelope, FrameDecoder, FrameEncoder } from "@txlane/protocol"
import { Result } from "effect"

interface Pending {
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

export interface RawClient {
  readonly sendPayload: (payload: Uint8Array) => Promise<void>
  readonly send: (transactions: ReadonlyArray<Uint8Array>) => Promise<void>
  readonly close: (options: { readonly timeoutMs: number }) => Promise<{ readonly undelivered: ReadonlyArray<never> }>
}

/** Connects to `endpoint` and resolves once connected. */
export const rawClient = (endpoint: string): Promise<RawClient> =>
  new Promise((resolve, reject) => {
    const socket = createConnection(Endpoint.toNetOptions(Result.getOrThrow(Endpoint.parse(endpoint))))
    const decoder = new FrameDecoder.FrameDecoder()
    // In send order; a ring would save the shift, but the queue is a handful long at these rates.
    const pending: Array<Pending> = []
    const failAll = (error: Error) => {
      for (const p of pending.splice(0)) p.reject(error)
    }
    socket.setNoDelay?.(true)
    socket.on("data", (chunk: Buffer) => {
      for (const frame of decoder.push(chunk).frames) {
        const answer = JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString("utf8")) as {
          success?: boolean
        }
        const p = pending.shift()
        if (p === undefined) continue
        if (answer.success === true) p.resolve()
        else p.reject(new Error(`answer: ${JSON.stringify(answer)}`))
      }
    })
    socket.on("error", (error) => {
      failAll(error)
      reject(error)
    })
    socket.on("close", () => failAll(new Error("connection closed")))
    const sendPayload = (payload: Uint8Array): Promise<void> =>
      new Promise<void>((resolveSend, rejectSend) => {
        pending.push({ resolve: resolveSend, reject: rejectSend })
        const [header, body] = Result.getOrThrow(FrameEncoder.encode(payload))
        // One writev for both pieces, as the sender does; the payload is not copied.
        socket.cork()
        socket.write(header)
        socket.write(body)
        socket.uncork()
      })
    socket.once("connect", () =>
      resolve({
        sendPayload,
        send: (transactions) => sendPayload(Envelope.encode(transactions)),
        close: () =>
          new Promise((resolveClose) => {
            socket.end(() => resolveClose({ undelivered: [] }))
          })
      })
    )
  })
