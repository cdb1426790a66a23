import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { createReceiver, type ReceiverHandle } from "../../src/index.js"
import { Client, cleanupTempDirs, frames, tempSocketPath } from "../helpers.js"

const open: Array<ReceiverHandle> = []
const start = async (listen: string, socketMode?: number) => {
  const receiver = await createReceiver({
    listen,
    logLevel: "none",
    ...(socketMode === undefined ? {} : { socketMode }),
    submit: async () => ({})
  })
  open.push(receiver)
  return receiver
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close({ timeoutMs: 1000 })))
})
afterAll(cleanupTempDirs)

const works = async (address: string) => {
  const client = await Client.connect(address)
  client.write(frames(new Uint8Array([0x0a, 0x01, 0x41])))
  const responses = await client.awaitResponses(1)
  client.destroy()
  return responses[0]!.success
}

/** A socket file nobody listens on: bound, hard-linked to `path`, then closed (libuv unlinks only its own name). */
const makeStaleSocket = async (path: string) => {
  const bound = `${path}.tmp`
  const server = Net.createServer()
  await new Promise<void>((resolve) => server.listen(bound, resolve))
  Fs.linkSync(bound, path)
  await new Promise<void>((resolve) => server.close(() => resolve()))
  expect(Fs.existsSync(bound)).toBe(false)
  expect(Fs.lstatSync(path).isSocket()).toBe(true)
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("expected a rejection")
    },
    (e: unknown) => e
  )

describe("socket file (SPEC §7)", () => {
  it("is created with mode 0600 by default, leaves no private directory behind, and is removed on close", async () => {
    const path = tempSocketPath()
    const receiver = await start(path)
    expect(receiver.address).toBe(path)
    const stat = Fs.statSync(path)
    expect(stat.isSocket()).toBe(true)
    expect(stat.mode & 0o777).toBe(0o600)
    expect(Fs.readdirSync(Path.dirname(path))).toEqual([Path.basename(path)])
    expect(await works(path)).toBe(true)
    await receiver.close()
    expect(Fs.existsSync(path)).toBe(false)
  })

  it("takes the configured mode (0660) exactly, whatever the umask", async () => {
    const path = tempSocketPath()
    const previous = process.umask(0o077)
    try {
      await start(path, 0o660)
    } finally {
      process.umask(previous)
    }
    expect(Fs.statSync(path).mode & 0o777).toBe(0o660)
  })

  it("a live socket at the path: AddressInUse, and the live one keeps working", async () => {
    const path = tempSocketPath()
    await start(path)
    const error = await rejection(start(path))
    expect(error).toMatchObject({ _tag: "AddressInUse", address: path })
    expect(await works(path)).toBe(true)
  })

  it("a stale socket at the path is replaced", async () => {
    const path = tempSocketPath()
    await makeStaleSocket(path)
    const staleIno = Fs.lstatSync(path).ino
    await start(path)
    expect(Fs.lstatSync(path).ino).not.toBe(staleIno)
    expect(await works(path)).toBe(true)
  })

  it.each([
    ["file", (p: string) => Fs.writeFileSync(p, "precious")],
    ["directory", (p: string) => Fs.mkdirSync(p)],
    ["symlink", (p: string) => Fs.symlinkSync("/nonexistent/target", p)]
  ] as const)("a %s at the path is refused and left intact", async (kind, create) => {
    const path = tempSocketPath()
    create(path)
    const before = Fs.lstatSync(path)
    const error = await rejection(start(path))
    expect(error).toMatchObject({ _tag: "PathNotSocket", path, kind })
    const after = Fs.lstatSync(path)
    expect([after.ino, after.mode, after.size]).toEqual([before.ino, before.mode, before.size])
    if (kind === "file") expect(Fs.readFileSync(path, "utf8")).toBe("precious")
    expect(Fs.readdirSync(Path.dirname(path))).toEqual([Path.basename(path)])
  })

  it("a symlink to a live socket is refused too (never followed)", async () => {
    const target = tempSocketPath()
    await start(target)
    const path = tempSocketPath()
    Fs.symlinkSync(target, path)
    expect(await rejection(start(path))).toMatchObject({ _tag: "PathNotSocket", kind: "symlink" })
    expect(Fs.readlinkSync(path)).toBe(target)
  })

  it("on close, a socket that replaced ours at the path is left alone", async () => {
    const path = tempSocketPath()
    const first = await start(path)
    Fs.unlinkSync(path)
    const second = await start(path)
    await first.close()
    expect(Fs.lstatSync(path).isSocket()).toBe(true)
    expect(await works(second.address)).toBe(true)
  })

  it("a missing directory or an invalid endpoint fails with a typed error", async () => {
    expect(await rejection(start("/nonexistent-dir-txlane/r.sock"))).toMatchObject({
      _tag: "ListenFailed",
      code: "ENOENT"
    })
    expect(await rejection(start("relative.sock"))).toMatchObject({ _tag: "InvalidEndpoint", input: "relative.sock" })
  })
})
