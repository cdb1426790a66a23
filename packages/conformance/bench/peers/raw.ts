/**
 * The Node ceiling: a plain `node:net` pump with corked writes and the protocol's decoder.
 *
 * - `send`: pre-encodes the workload's frames, then each of `--workers` connections writes its
 *   share in corked runs of 64 frames, waiting for `drain` when the socket buffer is full. With
 *   `--api send` it encodes each batch's `Transactions` envelope and header as it writes it
 *   (`Envelope.encode`), the work `send(transactions)` does: the user path's reference.
 * - `receive`: one `FrameDecoder` per connection and `Envelope.decode` per frame (the same work
 *   the txlane receiver does per frame, without handlers, queues or responses). With
 *   `--respond json` it answers every frame, in order, `{"success":true,"count":N}`; with
 *   `--submit async` each answer is written on a later turn (`setImmediate` per frame, as the txlane
 *   receiver's async `submit` in the latency benchmark): the floor of a Node receiver in the
 *   latency table. `--loop-stats FILE` writes its event-loop and GC figures on exit.
 */
import * as fs from "node:fs"
import { createConnection, createServer, type Socket } from "node:net"
import { Endpoint, Envelope, FrameDecoder, FrameEncoder, Response } from "@txlane/protocol"
import { Result } from "effect"
import { startLoopStats } from "../lib/loop-stats.js"
import { listening, parse, report, totals } from "./contract.js"
import { payloadPool, transactionPool } from "./pool.js"

const CORK_FRAMES = 64
const args = parse(process.argv.slice(2), 1)

const endpointOf = (text: string) => Result.getOrThrow(Endpoint.parse(text))

if (args.role === "receive") {
  const t = totals()
  const endpoint = endpointOf(args.listen)
  const answers = args.respond === "json"
  const later = args.submit === "async"
  const loop = args.loopStats === undefined ? undefined : startLoopStats()
  // Each answer framed once per count and written whole, as the txlane receiver does
  // (receiver/src/internal/responses.ts): the floor must not pay ~1.5 µs of JSON per answer
  // that the library does not.
  const framedAnswers = new Map<number, Buffer>()
  const answer = (socket: Socket, count: number): void => {
    let framed = framedAnswers.get(count)
    if (framed === undefined) {
      framed = Buffer.concat(Result.getOrThrow(FrameEncoder.encode(Response.encode(Response.success(count)))))
      framedAnswers.set(count, framed)
    }
    socket.write(framed)
  }
  const server = createServer((socket: Socket) => {
    const decoder = new FrameDecoder.FrameDecoder()
    socket.on("data", (chunk: Buffer) => {
      const { frames } = decoder.push(chunk)
      for (const frame of frames) {
        const txs = Envelope.decode(frame)
        if (t.frames === 0) {
          t.firstAt = performance.now()
          loop?.reset()
        }
        t.frames++
        t.bytes += frame.length
        const count = Result.isSuccess(txs) ? txs.success.length : 0
        t.transactions += count
        if (answers) {
          if (later) setImmediate(() => answer(socket, count))
          else answer(socket, count)
        }
      }
      if (frames.length > 0) t.lastAt = performance.now()
      if (args.expectTransactions !== undefined && t.transactions >= args.expectTransactions) finish()
    })
    socket.on("error", () => socket.destroy())
  })
  const finish = () => {
    if (loop !== undefined && args.loopStats !== undefined)
      fs.writeFileSync(args.loopStats, JSON.stringify(loop.read()))
    report("raw-node-net", "receiver", t)
    // Closing the server removes its socket file, which the next receiver on that path needs free.
    server.close()
    process.exit(0)
  }
  process.on("SIGTERM", finish)
  server.listen(Endpoint.toNetOptions(endpoint), () => {
    const address = server.address()
    listening(
      typeof address === "object" && address !== null ? `tcp://${address.address}:${address.port}` : args.listen
    )
  })
} else {
  // A bounded pool of pre-encoded frames, cycled (see pool.ts): batch i is frames[i % frames.length].
  const encodeEach = args.api === "send"
  const frames = encodeEach ? [] : payloadPool(args).map((payload) => Result.getOrThrow(FrameEncoder.encode(payload)))
  const txLists = encodeEach ? transactionPool(args) : []
  const frameOf = (i: number) =>
    encodeEach
      ? Result.getOrThrow(FrameEncoder.encode(Envelope.encode(txLists[i % txLists.length]!)))
      : frames[i % frames.length]!
  const t = totals()
  // Worker w writes batches w, w + workers, w + 2*workers, … < batches.
  const send = (socket: Socket, w: number) =>
    new Promise<void>((resolve, reject) => {
      let next = w
      const pump = () => {
        while (next < args.batches) {
          socket.cork()
          let ok = true
          for (let n = 0; n < CORK_FRAMES && next < args.batches; n++, next += args.workers) {
            const frame = frameOf(next)
            socket.write(frame[0])
            ok = socket.write(frame[1])
            t.frames++
            t.bytes += frame[1].length
          }
          socket.uncork()
          if (!ok) return socket.once("drain", pump)
        }
        socket.end(resolve)
      }
      socket.on("error", reject)
      pump()
    })
  const endpoint = endpointOf(args.endpoint)
  t.firstAt = performance.now()
  await Promise.all(
    Array.from({ length: args.workers }, (_, w) => {
      const socket = createConnection(Endpoint.toNetOptions(endpoint))
      socket.on("data", () => {}) // a responding receiver must never block us
      return new Promise<void>((resolve, reject) => socket.once("connect", () => send(socket, w).then(resolve, reject)))
    })
  )
  t.lastAt = performance.now()
  t.transactions = args.batches * args.txPerBatch
  report("raw-node-net", "sender", t)
  process.exit(0)
}
