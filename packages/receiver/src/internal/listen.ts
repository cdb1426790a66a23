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
 * {@link listen} is an Effect whose Scope owns what it makes: the server's finalizer is registered
 * before the server is created, the private directory has a scope of its own that ends once the
 * socket is linked (or binding failed), and removing the socket file is registered as soon as the
 * link exists. Binding runs uninterruptibly to its end (a SIGTERM during start-up waits for it),
 * so no step is left half-done; a failed bind closes the server at once. Failures are typed
 * (`AddressInUse`, `PathNotSocket`, `ListenFailed`); system errors become `ListenFailed` with
 * their `code`.
 *
 * @module
 */
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Path from "node:path"
import type { Endpoint } from "@txlane/protocol"
import { Effect, Result, type Scope } from "effect"
import { AddressInUse, ListenFailed, PathNotSocket } from "../errors.js"

/** A listening server and how to clean up its address. */
export interface Bound {
  readonly server: Net.Server
  /** The actual endpoint: the path, or `tcp://host:port` with the port assigned by the kernel. */
  readonly address: string
  /**
   * Removes the socket file if it is still ours (no-op for TCP). Never fails; idempotent. Also
   * registered in the Scope given to {@link listen}.
   */
  readonly removeSocketFile: Effect.Effect<void>
}

/** What {@link listen} needs besides the endpoint. */
export interface ListenOptions {
  /** Permission bits of the socket file. */
  readonly socketMode: number
  /** The endpoint as the user wrote it (for error messages). */
  readonly given: string
  /** Called for every accepted connection. */
  readonly onConnection: (socket: Net.Socket) => void
  /** Called for errors of the listening socket after bind (e.g. EMFILE on accept). */
  readonly onError: (error: Error) => void
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

/** A system call whose error is expected in some cases: the error comes back as a value, to be classified. */
const attempt = <A>(call: () => Promise<A>): Effect.Effect<Result.Result<A, unknown>> =>
  Effect.promise(() =>
    call().then(
      (value) => Result.succeed(value),
      (error: unknown) => Result.fail(error)
    )
  )

/** A system call whose every error means `ListenFailed` for `address`. */
const system = <A>(address: string, call: () => Promise<A>): Effect.Effect<A, ListenFailed> =>
  Effect.tryPromise({ try: call, catch: (error) => failed(address, error) })

const kindOf = (stat: import("node:fs").Stats): PathNotSocket["kind"] =>
  stat.isSymbolicLink() ? "symlink" : stat.isFile() ? "file" : stat.isDirectory() ? "directory" : "other"

const listenOn = (server: Net.Server, options: Net.ListenOptions): Promise<void> =>
  new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once("error", onError)
    server.listen(options, () => {
      server.off("error", onError)
      resolve()
    })
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
const clearPath = (
  path: string,
  privateDir: string
): Effect.Effect<void, ListenFailed | PathNotSocket | AddressInUse> =>
  Effect.gen(function* () {
    const stat = yield* attempt(() => Fs.lstat(path))
    if (Result.isFailure(stat)) {
      if (codeOf(stat.failure) === "ENOENT") return
      return yield* failed(path, stat.failure)
    }
    if (!stat.success.isSocket()) return yield* new PathNotSocket({ path, kind: kindOf(stat.success) })
    // Hold the inode we are about to probe with a hard link of our own: while we hold it, its
    // number cannot be reused by a file created meanwhile (a filesystem may hand a freed inode
    // number to the very next file), so the identity check below cannot be fooled.
    const held = Path.join(privateDir, "probed")
    const linked = yield* attempt(async () => {
      await Fs.rm(held, { force: true })
      await Fs.link(path, held)
    })
    if (Result.isFailure(linked)) {
      if (codeOf(linked.failure) === "ENOENT") return // removed meanwhile: the path is free
      return yield* failed(path, linked.failure)
    }
    const identity = yield* system(path, () => Fs.lstat(held))
    if (!identity.isSocket()) return yield* clearPath(path, privateDir) // replaced meanwhile: look again
    const outcome = yield* Effect.promise(() => probe(path))
    if (outcome === "ENOENT") return
    if (outcome !== "ECONNREFUSED") {
      // "live", or EAGAIN (a listener with a full backlog): someone owns it.
      if (outcome === "live" || outcome === "EAGAIN") return yield* new AddressInUse({ address: path })
      return yield* new ListenFailed({
        address: path,
        code: outcome,
        reason: `cannot probe the existing socket (${outcome})`
      })
    }
    const moved = Path.join(privateDir, "stale")
    const renamed = yield* attempt(() => Fs.rename(path, moved))
    if (Result.isFailure(renamed)) {
      if (codeOf(renamed.failure) === "ENOENT") return // someone else removed it meanwhile
      return yield* failed(path, renamed.failure)
    }
    const now = yield* system(path, () => Fs.lstat(moved))
    if (now.dev === identity.dev && now.ino === identity.ino) return
    // Not the socket we probed: put it back (`link` never replaces; if yet another file took the
    // path meanwhile, that one stays and this one is lost with the private directory — a
    // three-way race on one path, which a deployment with one receiver per path never sees).
    yield* attempt(() => Fs.link(moved, path))
    return yield* new AddressInUse({ address: path })
  })

const bindUnix = (
  server: Net.Server,
  path: string,
  mode: number
): Effect.Effect<Bound, ListenFailed | PathNotSocket | AddressInUse, Scope.Scope> =>
  Effect.gen(function* () {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      return yield* new ListenFailed({
        address: path,
        code: undefined,
        reason: `path longer than ${MAX_SOCKET_PATH_BYTES} bytes`
      })
    }
    // The path is checked before anything is created: a symlink or a file there fails with nothing done.
    const existing = yield* attempt(() => Fs.lstat(path))
    if (Result.isSuccess(existing) && !existing.success.isSocket()) {
      return yield* new PathNotSocket({ path, kind: kindOf(existing.success) })
    }
    if (Result.isFailure(existing) && codeOf(existing.failure) !== "ENOENT")
      return yield* failed(path, existing.failure)
    // The private directory lives only while binding: its own scope ends once the socket is
    // linked at `path`, or binding failed.
    const linkedAt = yield* Effect.scoped(
      Effect.gen(function* () {
        const privateDir = yield* Effect.acquireRelease(
          system(path, () => Fs.mkdtemp(Path.join(Path.dirname(path), ".txl-"))),
          (dir) => attempt(() => Fs.rm(dir, { recursive: true, force: true }))
        )
        const privatePath = Path.join(privateDir, "s")
        yield* clearPath(path, privateDir)
        if (Buffer.byteLength(privatePath) > MAX_SOCKET_PATH_BYTES) {
          return yield* new ListenFailed({
            address: path,
            code: undefined,
            reason: `the private bind path ${privatePath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter directory`
          })
        }
        yield* system(path, () => listenOn(server, { path: privatePath }))
        yield* system(path, () => Fs.chmod(privatePath, mode))
        for (let n = 1; ; n++) {
          const linked = yield* attempt(() => Fs.link(privatePath, path))
          if (Result.isSuccess(linked)) break
          if (codeOf(linked.failure) !== "EEXIST") return yield* failed(path, linked.failure)
          if (n >= MAX_LINK_ATTEMPTS) return yield* new AddressInUse({ address: path })
          yield* clearPath(path, privateDir)
        }
        return yield* system(path, () => Fs.lstat(path))
      })
    )
    const { dev, ino } = linkedAt
    const removeSocketFile = attempt(async () => {
      const now = await Fs.lstat(path)
      if (now.dev === dev && now.ino === ino) await Fs.unlink(path)
    }).pipe(Effect.asVoid) // already gone, or not ours to remove: either way nothing to do
    yield* Effect.addFinalizer(() => removeSocketFile)
    return { server, address: path, removeSocketFile }
  })

const bindTcp = (
  server: Net.Server,
  host: string,
  port: number,
  given: string
): Effect.Effect<Bound, ListenFailed | AddressInUse> =>
  Effect.gen(function* () {
    const listened = yield* attempt(() => listenOn(server, { host, port }))
    if (Result.isFailure(listened)) {
      if (codeOf(listened.failure) === "EADDRINUSE") return yield* new AddressInUse({ address: given })
      return yield* failed(given, listened.failure)
    }
    const info = server.address()
    const actualPort = typeof info === "object" && info !== null ? info.port : port
    const shown = host.includes(":") ? `[${host}]` : host
    return { server, address: `tcp://${shown}:${actualPort}`, removeSocketFile: Effect.void }
  })

/**
 * Creates a server and binds it to `endpoint`, in the current Scope: closing the Scope stops
 * listening and removes the socket file if it is still ours. Fails with `AddressInUse`,
 * `PathNotSocket` or `ListenFailed`; on failure the server is already closed and nothing was left
 * on disk.
 */
export const listen = (
  endpoint: Endpoint.Endpoint,
  options: ListenOptions
): Effect.Effect<Bound, ListenFailed | PathNotSocket | AddressInUse, Scope.Scope> =>
  Effect.uninterruptible(
    Effect.gen(function* () {
      let server: Net.Server | undefined
      yield* Effect.addFinalizer(() => (server === undefined ? Effect.void : stopListening(server)))
      server = Net.createServer({ allowHalfOpen: true, noDelay: true })
      server.on("connection", options.onConnection)
      const bound = server
      const bind =
        endpoint._tag === "Unix"
          ? bindUnix(bound, endpoint.path, options.socketMode)
          : bindTcp(bound, endpoint.host, endpoint.port, options.given)
      const result = yield* bind.pipe(Effect.onError(() => stopListening(bound)))
      // Errors of the listening socket after bind are reported, not fatal (a listen error before
      // this point was the bind's own failure).
      bound.on("error", options.onError)
      return result
    })
  )

/**
 * Stops accepting; done when the listening handle is closed (open connections are not waited
 * for). Idempotent.
 */
export const stopListening = (server: Net.Server): Effect.Effect<void> =>
  Effect.sync(() => {
    // `close` waits for every connection to end before calling back; we only need the listening
    // handle gone, which happens synchronously inside `close`.
    if (server.listening) server.close()
  })
