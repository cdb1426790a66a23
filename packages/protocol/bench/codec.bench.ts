/**
 * Codec micro-benchmark: FrameDecoder / FrameEncoder / Envelope throughput against a plain
 * `Buffer` loop baseline, in the same run. Not a test: `npm run bench -w @txlane/protocol`.
 *
 * The stream is fed in 64 KiB chunks, the size a Unix socket read usually returns.
 */
import { cpus } from "node:os"
import { Envelope, FrameDecoder, FrameEncoder } from "../src/index.js"
import { Workload } from "../src/testing.js"

const CHUNK = 64 * 1024
const TARGET_BYTES = 256 * 1024 * 1024 // per measurement: long enough to be stable, short enough for CI

const chunked = (stream: Uint8Array): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let at = 0; at < stream.length; at += CHUNK) out.push(stream.subarray(at, at + CHUNK))
  return out
}

// What people write by hand: append to a Buffer, slice frames off the front.
const baselineDecode = (chunks: ReadonlyArray<Uint8Array>): number => {
  let pending = Buffer.alloc(0)
  let frames = 0
  for (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk])
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0)
      if (pending.length < 4 + length) break
      frames++
      pending = pending.subarray(4 + length)
    }
  }
  return frames
}

const txlaneDecode = (chunks: ReadonlyArray<Uint8Array>): number => {
  const decoder = new FrameDecoder.FrameDecoder()
  let frames = 0
  for (const chunk of chunks) frames += decoder.push(chunk).frames.length
  return frames
}

const baselineEncode = (payloads: ReadonlyArray<Uint8Array>): number => {
  let bytes = 0
  for (const p of payloads) {
    const buf = Buffer.allocUnsafe(4 + p.length)
    buf.writeUInt32BE(p.length, 0)
    buf.set(p, 4)
    bytes += buf.length
  }
  return bytes
}

const txlaneEncode = (payloads: ReadonlyArray<Uint8Array>): number => {
  let bytes = 0
  for (const p of payloads) {
    const r = FrameEncoder.encode(p)
    if (r._tag === "Success") bytes += r.success[0].length + r.success[1].length
  }
  return bytes
}

const measure = (run: () => number, bytes: number, frames: number) => {
  run() // warm-up
  const rounds = Math.max(1, Math.round(TARGET_BYTES / bytes))
  const start = process.hrtime.bigint()
  for (let i = 0; i < rounds; i++) run()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return { mbps: (bytes * rounds) / seconds / 1e6, fps: (frames * rounds) / seconds }
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1))

const rows: Array<string> = []
for (const [label, size] of [
  ["200 B", 200],
  ["32 KiB", 32 * 1024],
  ["1 MiB", 1024 * 1024]
] as const) {
  const count = Math.max(4, Math.floor((16 * 1024 * 1024) / size))
  const payload = new Uint8Array(size).fill(7)
  const payloads = Array.from({ length: count }, () => payload)
  const stream = FrameEncoder.concat(payloads)
  const chunks = chunked(stream)
  const dec = measure(() => txlaneDecode(chunks), stream.length, count)
  const decBase = measure(() => baselineDecode(chunks), stream.length, count)
  const enc = measure(() => txlaneEncode(payloads), stream.length, count)
  const encBase = measure(() => baselineEncode(payloads), stream.length, count)
  rows.push(
    `| ${label} | decode | ${fmt(dec.mbps)} | ${fmt(dec.fps)} | ${fmt(decBase.mbps)} | ${(dec.mbps / decBase.mbps).toFixed(2)}× |`,
    `| ${label} | encode | ${fmt(enc.mbps)} | ${fmt(enc.fps)} | ${fmt(encBase.mbps)} | ${(enc.mbps / encBase.mbps).toFixed(2)}× |`
  )
}

// The upstream shape: 50 transactions of ~650 B per envelope.
const txs = new Workload.TransactionGenerator({ seed: 1, txSize: 650 }).take(50)
const envelope = Envelope.encode(txs)
const envRounds = 20_000
let start = process.hrtime.bigint()
for (let i = 0; i < envRounds; i++) Envelope.encode(txs)
const encodeSeconds = Number(process.hrtime.bigint() - start) / 1e9
start = process.hrtime.bigint()
for (let i = 0; i < envRounds; i++) Envelope.encodeSlow(txs)
const encodeSlowSeconds = Number(process.hrtime.bigint() - start) / 1e9
start = process.hrtime.bigint()
for (let i = 0; i < envRounds; i++) Envelope.decode(envelope)
const decodeSeconds = Number(process.hrtime.bigint() - start) / 1e9

console.log(
  `Codec benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? "unknown CPU"} (${cpus().length} cores), Node ${process.version}`
)
console.log("")
console.log("| frame | op | txlane MB/s | txlane frames/s | Buffer-loop MB/s | ratio |")
console.log("|---|---|---|---|---|---|")
for (const row of rows) console.log(row)
console.log("")
console.log(
  `Envelope (50 × 650 B, ${envelope.length} B): encode ${fmt(envRounds / encodeSeconds)} envelopes/s (${fmt((envRounds * envelope.length) / encodeSeconds / 1e6)} MB/s; BinaryWriter: ${fmt(envRounds / encodeSlowSeconds)}/s), decode ${fmt(envRounds / decodeSeconds)} envelopes/s (${fmt((envRounds * envelope.length) / decodeSeconds / 1e6)} MB/s)`
)
