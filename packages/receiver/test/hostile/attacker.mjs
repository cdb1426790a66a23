// Attacking clients in a process of their own, so that the test process (which measures a
// legitimate client's round trips) and the receiver process are not the attacker's CPU.
// Plain Node, no tsx: `node attacker.mjs JSON`, where JSON is
//   { path, connections, mode: "empty-frames" | "trickle", durationMs, reads?, announce? }
// - empty-frames: each connection writes up to `reads` 64 KiB reads of empty frames (4 zero
//   bytes each), the next one when the previous has left; responses are read and dropped.
// - trickle: each connection announces a frame of `announce` bytes, then sends it 1 byte per
//   write, with no pause, never finishing it.
// Prints one JSON line `{"event":"ready"}` when connected and `{"event":"done",…}` at the end;
// exits after `durationMs` (and when its stdin closes: it never outlives the test).
import * as Net from "node:net"

const o = JSON.parse(process.argv[2])
const write = (v) => process.stdout.write(`${JSON.stringify(v)}\n`)
const sockets = []
let sentBytes = 0
let receivedBytes = 0
let closed = 0
const connect = () =>
  new Promise((resolve, reject) => {
    const s = Net.connect({ path: o.path })
    s.on("data", (d) => {
      receivedBytes += d.length
    })
    s.on("close", () => closed++)
    s.once("connect", () => resolve(s))
    s.once("error", reject)
    s.on("error", () => undefined)
  })
for (let i = 0; i < o.connections; i += 50) {
  const batch = await Promise.all(Array.from({ length: Math.min(50, o.connections - i) }, connect))
  sockets.push(...batch)
}
write({ event: "ready" })
const end = Date.now() + o.durationMs
const finish = () => {
  write({ event: "done", sentBytes, receivedBytes, closed })
  for (const s of sockets) s.destroy()
  process.exit(0)
}
process.stdin.on("end", finish)
process.stdin.resume()
setTimeout(finish, o.durationMs)

if (o.mode === "empty-frames") {
  const zeros = Buffer.alloc(64 * 1024)
  const reads = new Map(sockets.map((s) => [s, 0]))
  const tick = () => {
    for (const s of sockets) {
      const n = reads.get(s)
      if (s.destroyed || s.writableLength > 0 || n >= o.reads) continue
      s.write(zeros)
      sentBytes += zeros.length
      reads.set(s, n + 1)
    }
    if (Date.now() < end) setTimeout(tick, 5)
  }
  tick()
} else if (o.mode === "trickle") {
  const header = Buffer.alloc(4)
  header.writeUInt32BE(o.announce)
  for (const s of sockets) s.write(header)
  const one = Buffer.of(0x5a)
  const sent = new Map(sockets.map((s) => [s, 0]))
  // 1-byte writes with no pause: each socket gets a write whenever its previous one has left.
  const tick = () => {
    for (let round = 0; round < 64; round++) {
      for (const s of sockets) {
        const n = sent.get(s)
        if (s.destroyed || s.writableLength > 0 || n >= o.announce - 1) continue
        s.write(one)
        sent.set(s, n + 1)
        sentBytes++
      }
    }
    if (Date.now() < end) setImmediate(tick)
  }
  tick()
}
