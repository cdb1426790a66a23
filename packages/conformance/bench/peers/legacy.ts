/**
 * The design txlane replaces (shared/seed): a TCP connection pool where every send borrows a
 * connection, writes one frame, waits the 1 ms that hid the connection-reuse race, and returns
 * the connection. The pool holds 10 connections; `--workers` is the number of concurrent
 * producers (default 1: the sub node's transaction pool hands batches to the sender one at a time).
 *
 * Only the sender is legacy; it is measured against the raw `node:net` receiver over TCP.
 */
import { createConnection, type Socket } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { Endpoint, FrameEncoder } from "@txlane/protocol"
import { Result } from "effect"
import { parse, report, totals } from "./contract.js"
import { payloadPool } from "./pool.js"

// The delay the old Go producer added after each send.
const REUSE_DELAY_MS = 1
// The old producer's pool size.
const POOL_SIZE = 10

const args = parse(process.argv.slice(2), 1)
if (args.role !== "send") throw new Error("the legacy baseline only sends")
const endpoint = Result.getOrThrow(Endpoint.parse(args.endpoint))
// A bounded pool of pre-encoded frames, cycled (see pool.ts): batch i is frames[i % frames.length].
const frames = payloadPool(args).map((payload) => Result.getOrThrow(FrameEncoder.encode(payload)))

const connect = () =>
  new Promise<Socket>((resolve, reject) => {
    const socket = createConnection(Endpoint.toNetOptions(endpoint), () => resolve(socket))
    socket.once("error", reject)
    socket.on("data", () => {})
  })

const pool: Array<Socket> = await Promise.all(Array.from({ length: POOL_SIZE }, connect))
const waiting: Array<(s: Socket) => void> = []
const borrow = () => new Promise<Socket>((resolve) => (pool.length > 0 ? resolve(pool.pop()!) : waiting.push(resolve)))
const giveBack = (s: Socket) => {
  const next = waiting.shift()
  if (next) next(s)
  else pool.push(s)
}

const t = totals()
let next = 0
t.firstAt = performance.now()
await Promise.all(
  Array.from({ length: args.workers }, async () => {
    while (next < args.batches) {
      const frame = frames[next++ % frames.length]!
      const socket = await borrow()
      await new Promise<void>((resolve, reject) =>
        socket.write(Buffer.concat(frame), (e) => (e ? reject(e) : resolve()))
      )
      await sleep(REUSE_DELAY_MS)
      giveBack(socket)
      t.frames++
      t.bytes += frame[1].length
    }
  })
)
t.lastAt = performance.now()
t.transactions = args.batches * args.txPerBatch
await Promise.all([...pool].map((s) => new Promise<void>((resolve) => s.end(resolve))))
report("legacy-pool", "sender", t)
process.exit(0)
