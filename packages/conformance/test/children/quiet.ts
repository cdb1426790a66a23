/**
 * A host program for `quiet-libraries.test.ts`: uses both Promise APIs in ways that make them
 * warn (a sender whose receiver is missing, garbage frames to a receiver), then writes what its
 * injected logger saw (if any) to the file named by argv[3]. It never writes to stdout itself,
 * so anything on its stdout came from a library.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { createReceiver } from "@txlane/receiver"
import { createSender } from "@txlane/sender"

const mode = process.argv[2] as "default" | "injected"
const out = process.argv[3]!
const seen: Array<string> = []
const logger =
  mode === "injected"
    ? {
        debug: (m: string) => seen.push(`debug ${m}`),
        info: (m: string) => seen.push(`info ${m}`),
        warn: (m: string) => seen.push(`warn ${m}`),
        error: (m: string) => seen.push(`error ${m}`)
      }
    : undefined

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "txq-"))
const listen = path.join(dir, "r.sock")
const receiver = await createReceiver({ listen, submit: () => ({}), logger })
// Garbage: a frame whose payload is not an envelope, then an oversize header.
await new Promise<void>((resolve) => {
  const socket = net.connect(listen, () => {
    socket.write(Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
  })
  socket.on("data", () => {})
  socket.on("close", () => resolve())
  socket.on("error", () => resolve())
})
// A sender whose receiver does not exist: it warns while it retries.
const lost = await createSender({ endpoint: path.join(dir, "missing.sock"), logger })
void lost.sendPayload(new Uint8Array([0x0a, 0x01, 0x01]))
await new Promise((r) => setTimeout(r, 300))
await lost.close({ timeoutMs: 100 })
await receiver.close()
fs.rmSync(dir, { recursive: true, force: true })
fs.writeFileSync(out, JSON.stringify(seen))
