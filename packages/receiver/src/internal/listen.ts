/**
 * Binding a listening `node:net` server to an endpoint, with the socket-file rules of SPEC §7.
 *
 * The socket file is never reachable with a mode wider than asked, without touching the
 * process-wide umask (other code in the process may create files at the same time):
 *
 * 1. Create a private directory next to the target (`mkdtemp`: mode 0700, so nobody else can
 *    even reach what is inside).
 * 2. `lstat` the target (symlinks are reported, never followed). Missing → go on. A socket →
 *    hard-link it into the private directory (holding its inode), try to connect: success → `AddressInUse` (never steal a live socket); `ECONNREFUSED` →
 *    stale: `rename` it into the private directory (atomic: whatever is at the path at that
 *    instant moves), then check it is the inode we probed. If it is not — another receiver
 *    removed the stale socket and put its live one there between our probe and our rename —
 *    link that one back and fail with `AddressInUse`: a probe-then-unlink would have deleted
 *    the other receiver's live socket, leaving it listening on a name nobody can reach.
 *    Anything else → `PathNotSocket`, left intact. Then bind the socket inside the private
 *    directory and `chmod` it to `socketMode`.
 * 3. `link` it onto the target path. `link` fails with `EEXIST` instead of replacing, so a file
 *    that appeared at the path since step 1 is never clobbered (we re-check it from step 1).
 *    The inode is the same, so the target appears with the final mode already.
 * 4. Unlink the private name and remove the directory.
 *
 * The file is removed on close only if it is still our inode: a receiver started later on the
 * same path (after someone removed ours) keeps its socket. libuv also unlinks the path it bound
 * when the server closes; that is the private name, long gone by then.
 *
 * @module
 */
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Path from "node:path"
import type { Endpoint } from "@txlane/protocol"
import { AddressInUse, ListenFailed, PathNotSocket } from "../errors.js"

/** A listening server and how to clean up its address. */
export interface Bound {
  readonly server: Net.Server
  /** The actual endpoint: the path, or `tcp://host:port` with the port assigned by the kernel. */
  readonly address: string
  /** Removes the socket file if it is still ours (no-op for TCP). Never fails. */
  readonly removeSocketFile: () => Promise<void>
}

// sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107
// How long a connect probe may take before we call the socket live (a listener with a full
// backlog may not answer at once, and it is still somebody's live socket).
const PROBE_TIMEOUT_MS = 1000
// Re-checks when something appears at the path while we bind; more means someone is racing us.
const MAX_LINK_ATTEMPTS = 3

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const failed = (address: string, error: unknown): ListenFailed =>
  new ListenFailed({ address, code: codeOf(error), reason: messageOf(error) })

const listenOn = (server: Net.Server, options: Net.ListenOptions): Promise<void> =>
  new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once("error", onError)
    server.listen(options, () => {
      server.off("error", onError)
      resolve()
    })
  })

const closeServer = (server: Net.Server): Promise<void> =>
  new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
  })

/** "live" when something accepts connections at `path`, else the connect error's code. */
const probe = (path: string): Promise<"live" | string> =>
  new Promise((resolve) => {
    const socket = Net.connect({ path })
    const done = (outcome: string) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => done("live"), PROBE_TIMEOUT_MS)
    socket.once("connect", () => done("live"))
    socket.once("error", (error) => done(codeOf(error) ?? "EUNKNOWN"))
  })

/**
 * Step 2: makes sure the path is free to bind, or fails. A stale socket is moved into
 * `privateDir` (which the caller removes) by `rename`, then identified by its inode.
 */
const clearPath = async (path: string, privateDir: string): Promise<void> => {
  let stat: import("node:fs").Stats
  try {
    stat = await Fs.lstat(path)
  } catch (error) {
    if (codeOf(error) === "ENOENT") return
    throw failed(path, error)
  }
  if (!stat.isSocket()) {
    const kind = stat.isSymbolicLink() ? "symlink" : stat.isFile() ? "file" : stat.isDirectory() ? "directory" : "other"
    throw new PathNotSocket({ path, kind })
  }
  // Hold the inode we are about to probe with a hard link of our own: while we hold it, its
  // number cannot be reused by a file created meanwhile (a filesystem may hand a freed inode
  // number to the very next file), so the identity check below cannot be fooled.
  const held = Path.join(privateDir, "probed")
  try {
    await Fs.rm(held, { force: true })
    await Fs.link(path, held)
  } catch (error) {
    if (codeOf(error) === "ENOENT") return // removed meanwhile: the path is free
    throw failed(path, error)
  }
  const identity = await Fs.lstat(held)
  if (!identity.isSocket()) return clearPath(path, privateDir) // replaced meanwhile: look again
  const outcome = await probe(path)
  if (outcome === "ENOENT") return
  if (outcome !== "ECONNREFUSED") {
    // "live", or EAGAIN (a listener with a full backlog): someone owns it.
    if (outcome === "live" || outcome === "EAGAIN") throw new AddressInUse({ address: path })
    throw new ListenFailed({ address: path, code: outcome, reason: `cannot probe the existing socket (${outcome})` })
  }
  const moved = Path.join(privateDir, "stale")
  try {
    await Fs.rename(path, moved)
  } catch (error) {
    if (codeOf(error) === "ENOENT") return // someone else removed it meanwhile
    throw failed(path, error)
  }
  const now = await Fs.lstat(moved)
  if (now.dev === identity.dev && now.ino === identity.ino) return
  // Not the socket we probed: put it back (`link` never replaces; if yet another file took the
  // path meanwhile, that one stays and this one is lost with the private directory — a
  // three-way race on one path, which a deployment with one receiver per path never sees).
  await Fs.link(moved, path).catch(() => undefined)
  throw new AddressInUse({ address: path })
}

const bindUnix = async (server: Net.Server, path: string, mode: number): Promise<Bound> => {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new ListenFailed({
      address: path,
      code: undefined,
      reason: `path longer than ${MAX_SOCKET_PATH_BYTES} bytes`
    })
  }
  // The path is checked before anything is created: a symlink or a file there fails with nothing done.
  try {
    await Fs.lstat(path).then((stat) => {
      if (!stat.isSocket()) {
        const kind = stat.isSymbolicLink()
          ? "symlink"
          : stat.isFile()
            ? "file"
            : stat.isDirectory()
              ? "directory"
              : "other"
        throw new PathNotSocket({ path, kind })
      }
    })
  } catch (error) {
    if (error instanceof PathNotSocket) throw error
    if (codeOf(error) !== "ENOENT") throw failed(path, error)
  }
  let privateDir: string
  try {
    privateDir = await Fs.mkdtemp(Path.join(Path.dirname(path), ".txl-"))
  } catch (error) {
    throw failed(path, error)
  }
  const privatePath = Path.join(privateDir, "s")
  let linked = false
  try {
    await clearPath(path, privateDir)
    if (Buffer.byteLength(privatePath) > MAX_SOCKET_PATH_BYTES) {
      throw new ListenFailed({
        address: path,
        code: undefined,
        reason: `the private bind path ${privatePath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter directory`
      })
    }
    try {
      await listenOn(server, { path: privatePath })
      await Fs.chmod(privatePath, mode)
    } catch (error) {
      throw failed(path, error)
    }
    for (let attempt = 1; !linked; attempt++) {
      try {
        await Fs.link(privatePath, path)
        linked = true
      } catch (error) {
        if (codeOf(error) !== "EEXIST") throw failed(path, error)
        if (attempt >= MAX_LINK_ATTEMPTS) throw new AddressInUse({ address: path })
        await clearPath(path, privateDir)
      }
    }
    const { dev, ino } = await Fs.lstat(path)
    return {
      server,
      address: path,
      removeSocketFile: async () => {
        try {
          const now = await Fs.lstat(path)
          if (now.dev === dev && now.ino === ino) await Fs.unlink(path)
        } catch {
          // Already gone, or not ours to remove: either way nothing to do.
        }
      }
    }
  } catch (error) {
    await closeServer(server)
    throw error
  } finally {
    await Fs.rm(privateDir, { recursive: true, force: true }).catch(() => undefined)
  }
}

const bindTcp = async (server: Net.Server, host: string, port: number, given: string): Promise<Bound> => {
  try {
    await listenOn(server, { host, port })
  } catch (error) {
    if (codeOf(error) === "EADDRINUSE") throw new AddressInUse({ address: given })
    throw failed(given, error)
  }
  const info = server.address()
  const actualPort = typeof info === "object" && info !== null ? info.port : port
  const shown = host.includes(":") ? `[${host}]` : host
  return { server, address: `tcp://${shown}:${actualPort}`, removeSocketFile: async () => undefined }
}

/**
 * Binds `server` to `endpoint`. Rejects with `AddressInUse`, `PathNotSocket` or `ListenFailed`;
 * on rejection the server is not listening and nothing was left on disk.
 */
export const bind = (
  server: Net.Server,
  endpoint: Endpoint.Endpoint,
  socketMode: number,
  given: string
): Promise<Bound> =>
  endpoint._tag === "Unix"
    ? bindUnix(server, endpoint.path, socketMode)
    : bindTcp(server, endpoint.host, endpoint.port, given)

/** Stops accepting; resolves when the listening handle is closed (open connections are not waited for). */
export const stopListening = (server: Net.Server): Promise<void> =>
  new Promise((resolve) => {
    if (!server.listening) return resolve()
    // `close` waits for every connection to end before calling back; we only need the listening
    // handle gone, which happens synchronously inside `close`.
    server.close()
    resolve()
  })
