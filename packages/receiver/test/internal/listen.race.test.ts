/**
 * The stale-socket race of SPEC §7: receivers A and B both find a stale socket at the path.
 * B removes it and puts its own live socket there between A's probe (refused: stale) and A's
 * removal. A probe-then-unlink made A delete B's live socket (B kept listening on a name nobody
 * could reach). A now moves the file with `rename` and checks its inode: it sees the file is
 * not the one it probed, puts it back, and fails with `AddressInUse`.
 *
 * The interleaving is forced by wrapping `rename` in `node:fs/promises`: right before A's rename
 * runs, "B" (a real listening receiver) takes the path. Everything else is real sockets.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { afterAll, expect, it, vi } from "vitest"

const hooks = vi.hoisted(() => ({ beforeRename: undefined as undefined | (() => Promise<void>) }))
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>()
  return {
    ...real,
    rename: async (from: string, to: string) => {
      const hook = hooks.beforeRename
      hooks.beforeRename = undefined
      if (hook !== undefined) await hook()
      return real.rename(from, to)
    }
  }
})

const { createReceiver } = await import("../../src/index.js")
const { cleanupTempDirs, tempSocketPath } = await import("../helpers.js")
afterAll(cleanupTempDirs)

const listen = (path: string) =>
  new Promise<Net.Server>((resolve) => {
    const server = Net.createServer((s) => s.end("B"))
    server.listen(path, () => resolve(server))
  })

it("a live socket that replaced the stale one between probe and removal is left in place (AddressInUse)", async () => {
  const path = tempSocketPath()
  // A stale socket: bound under another name, hard-linked to the path, then closed.
  const old = await listen(`${path}.tmp`)
  Fs.linkSync(`${path}.tmp`, path)
  await new Promise<void>((resolve) => old.close(() => resolve()))
  let b: Net.Server | undefined
  hooks.beforeRename = async () => {
    // Receiver B: removes the stale file and listens on the path, live.
    Fs.unlinkSync(path)
    b = await listen(path)
  }
  await expect(createReceiver({ listen: path, logLevel: "none", submit: async () => ({}) })).rejects.toMatchObject({
    _tag: "AddressInUse"
  })
  // B's socket is still at the path and still answers; A left no private directory behind.
  const answer = await new Promise<string>((resolve, reject) => {
    const s = Net.connect({ path })
    s.on("data", (d) => resolve(d.toString()))
    s.on("error", reject)
  })
  expect(answer).toBe("B")
  expect(Fs.readdirSync(Path.dirname(path)).filter((n) => n.startsWith(".txl-"))).toEqual([])
  await new Promise<void>((resolve) => b!.close(() => resolve()))
})
