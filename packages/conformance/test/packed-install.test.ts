/**
 * The published artefacts work: `npm pack` every package (from its built `dist/`; nx builds
 * them first — the conformance `test` target depends on `build` and `^build`), install the
 * tarballs into a fresh project under os.tmpdir() — outside the workspace, so nothing resolves
 * to the sources — and run a tiny send/receive through the installed library APIs and bins.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Util from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const ROOT = Path.resolve(import.meta.dirname, "../../..")
const PACKAGES = ["protocol", "sender", "receiver", "conformance"] as const
/** npm install of four tarballs plus effect & co. from the registry (cache first). */
const INSTALL_TIMEOUT_MS = 240_000

let project = ""
// Child processes get the Node running this test first on PATH: the bins' `#!/usr/bin/env node` then runs Node 22.
const env = { ...process.env, PATH: `${Path.dirname(process.execPath)}${Path.delimiter}${process.env.PATH ?? ""}` }

const exec = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs = 60_000): string =>
  ChildProcess.execFileSync(command, args, { cwd, env, encoding: "utf8", timeout: timeoutMs, stdio: "pipe" })

beforeAll(() => {
  project = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txlane-packed-"))
  const tarballs = PACKAGES.map((name) => {
    const dir = Path.join(ROOT, "packages", name)
    if (!Fs.existsSync(Path.join(dir, "dist", "index.js"))) throw new Error(`packages/${name} is not built`)
    const out = JSON.parse(exec("npm", ["pack", "--json", "--pack-destination", project], dir)) as Array<{
      filename: string
    }>
    return Path.join(project, out[0]!.filename)
  })
  Fs.writeFileSync(
    Path.join(project, "package.json"),
    JSON.stringify({ name: "txlane-packed-install", private: true, type: "module" })
  )
  exec("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs], project, INSTALL_TIMEOUT_MS)
}, INSTALL_TIMEOUT_MS + 60_000)

afterAll(() => {
  if (project !== "") Fs.rmSync(project, { recursive: true, force: true })
})

/** The `summary` event's fields from a bin's JSON-lines stdout. */
const summaryOf = (stdout: string): Record<string, unknown> | undefined =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))
    .find((e) => e.message === "summary")?.annotations

const LIBRARY_CHECK = `
import { createReceiver, Receiver } from "@txlane/receiver"
import { createSender, Sender } from "@txlane/sender"
import { Digest, Workload } from "@txlane/protocol"
import { Format } from "@txlane/protocol/cli"
import * as Conformance from "@txlane/conformance"

const socket = process.argv[2]
const received = Digest.make()
const receiver = await createReceiver({ listen: socket, submit: ({ transactions }) => { received.addAll(transactions) } })
const sender = await createSender({ endpoint: socket, delivery: "acknowledged", workers: 2 })
const sent = Digest.make()
const counts = []
for (const batch of Workload.batches({ batches: 20, txPerBatch: 5, txSize: 300 })) {
  sent.addAll(batch)
  counts.push(await sender.send(batch))
}
const report = await sender.close()
const shutdown = await receiver.close()
console.log(JSON.stringify({
  counts, sent: sent.value, received: received.value, undelivered: report.undelivered.length,
  timedOut: shutdown.timedOut, apis: [typeof Receiver.make, typeof Sender.make, typeof Conformance, Format.count(1234)]
}))
`

describe("packed install", () => {
  it("the installed libraries send and receive (Promise APIs), and every entry point resolves", () => {
    Fs.writeFileSync(Path.join(project, "check.mjs"), LIBRARY_CHECK)
    const socket = Path.join(project, "lib.sock")
    const result = JSON.parse(exec(process.execPath, ["check.mjs", socket], project).trim().split("\n").at(-1)!)
    expect(result).toMatchObject({ undelivered: 0, timedOut: false, apis: ["function", "function", "object", "1,234"] })
    expect(result.counts).toEqual(Array(20).fill(5))
    expect(result.received).toBe(result.sent)
  })

  it("the installed bins: txlane-sender delivers to txlane-receiver, which stops on SIGTERM with a summary, exit 0", async () => {
    const bin = Path.join(project, "node_modules", ".bin")
    // Effect's CLI colours its output when the environment asks for it (CI=true does): compare the text.
    const version = Util.stripVTControlCharacters(exec(Path.join(bin, "txlane-receiver"), ["--version"], project))
    expect(version.trim()).toMatch(/^txlane-receiver v\d+\.\d+\.\d+/)
    const socket = Path.join(project, "bin.sock")
    const receiver = ChildProcess.spawn(Path.join(bin, "txlane-receiver"), ["--listen", socket, "--digest"], {
      cwd: project,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    receiver.stdout.on("data", (c: Buffer) => {
      out += c.toString()
    })
    const exited = new Promise<number | null>((resolve) => receiver.on("exit", resolve))
    const deadline = Date.now() + 30_000
    while (!out.includes("listening on") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(out).toContain("listening on")

    const sender = ChildProcess.spawnSync(
      Path.join(bin, "txlane-sender"),
      ["--endpoint", socket, "--batches", "10", "--tx-per-batch", "4", "--delivery", "acknowledged", "--digest"],
      { cwd: project, env, encoding: "utf8", timeout: 60_000 }
    )
    expect(sender.status).toBe(0)
    const sent = summaryOf(sender.stdout)
    expect(sent).toMatchObject({ delivered: 10, transactions: 40, errors: 0 })
    receiver.kill("SIGTERM")
    expect(await exited).toBe(0)
    expect(summaryOf(out)).toMatchObject({ frames: 10, transactions: 40, errors: 0, digest: sent?.digest })
  })
})
