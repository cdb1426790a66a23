/**
 * The implementations in the matrix and how to start each one as a PEERS.md peer.
 *
 * Built-in: `ts` (this repository's `@txlane/sender` / `@txlane/receiver`, run from source with
 * tsx), `rust` and `go` (the binaries built from `peers/`). An outside implementation comes in
 * through a command template (`--receiver-cmd` / `--sender-cmd`, see {@link fromTemplate}).
 *
 * @module
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { which } from "./Toolchain.js"

/** The package root (`packages/conformance`), from `src/harness` or `dist/harness`. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** A role of PEERS.md. */
export type Role = "receiver" | "sender"

/**
 * What a receiver command is:
 * - `peer`: follows PEERS.md (ready line, report line, the flags);
 * - `server`: an outside server that only speaks the wire protocol and answers every frame
 *   with a JSON response (SPEC §5), like a team's production node. The harness passes it no
 *   flags, waits until it accepts connections, and takes its responses as the evidence of
 *   receipt.
 */
export type Kind = "peer" | "server"

/** Whether an implementation can run here. */
export type Availability =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string; readonly toolchain: boolean }

/** One implementation of the matrix. */
export interface Impl {
  /** Short name in case ids and the matrix: `ts`, `rust`, `go`, `custom`. */
  readonly name: string
  readonly kind: Kind
  /** The argv that starts it in `role` at `endpoint` with the PEERS.md `flags`, or undefined if it has no such role. */
  readonly command: (role: Role, endpoint: string, flags: ReadonlyArray<string>) => Array<string> | undefined
  readonly availability: () => Availability
}

const binary = (file: string, toolchain: string, build: string): Availability => {
  if (fs.existsSync(file)) return { ok: true }
  if (which(toolchain) === undefined) return { ok: false, reason: `no ${toolchain}`, toolchain: true }
  return { ok: false, reason: `${path.relative(packageRoot, file)} is not built (${build})`, toolchain: false }
}

const roleFlag = (role: Role, endpoint: string): Array<string> =>
  role === "receiver" ? ["--listen", endpoint] : ["--endpoint", endpoint]

/** The TypeScript testee: `txlane-ts-peer receive|send …` on this repository's sender and receiver. */
export const ts: Impl = {
  name: "ts",
  kind: "peer",
  command: (role, endpoint, flags) => [
    ...tsPeerArgv(),
    role === "receiver" ? "receive" : "send",
    ...roleFlag(role, endpoint),
    ...flags
  ],
  availability: () => ({ ok: true })
}

/** How to run the TS peer: the built JS when the harness itself runs built, else the sources via tsx. */
export const tsPeerArgv = (): Array<string> => {
  const here = fileURLToPath(import.meta.url)
  const built = path.join(packageRoot, "dist", "bin", "txlane-ts-peer.js")
  if (here.endsWith(".js") && fs.existsSync(built)) return [process.execPath, built]
  const tsx = resolveModule("tsx")
  return [
    process.execPath,
    "--conditions=txlane-source",
    "--import",
    tsx,
    path.join(packageRoot, "src", "bin", "txlane-ts-peer.ts")
  ]
}

const RUST_BIN = path.join(packageRoot, "peers", "rust", "target", "release")
const GO_BIN = path.join(packageRoot, "peers", "go", "bin")
const BUILD_HINT = "run `npm run build:peers -w @txlane/conformance`"

/** The Rust peer (`peers/rust`, `cargo build --release`). */
export const rust: Impl = {
  name: "rust",
  kind: "peer",
  command: (role, endpoint, flags) => [
    path.join(RUST_BIN, `txlane-rust-${role}`),
    ...roleFlag(role, endpoint),
    ...flags
  ],
  availability: () => {
    const receiver = binary(path.join(RUST_BIN, "txlane-rust-receiver"), "cargo", BUILD_HINT)
    return receiver.ok ? binary(path.join(RUST_BIN, "txlane-rust-sender"), "cargo", BUILD_HINT) : receiver
  }
}

/** The Go peer (`peers/go`, `go build -o bin/ ./cmd/...`). */
export const go: Impl = {
  name: "go",
  kind: "peer",
  command: (role, endpoint, flags) => [path.join(GO_BIN, `txlane-go-${role}`), ...roleFlag(role, endpoint), ...flags],
  availability: () => {
    const receiver = binary(path.join(GO_BIN, "txlane-go-receiver"), "go", BUILD_HINT)
    return receiver.ok ? binary(path.join(GO_BIN, "txlane-go-sender"), "go", BUILD_HINT) : receiver
  }
}

/** The built-in implementations, in matrix order. */
export const builtIn: ReadonlyArray<Impl> = [ts, rust, go]

/**
 * Splits a command template into words, shell-style: whitespace separates words, single and
 * double quotes group, backslash escapes. No expansion of any kind happens.
 */
export const splitWords = (template: string): Array<string> => {
  const words: Array<string> = []
  let word = ""
  let inWord = false
  let quote: "'" | '"' | undefined
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!
    if (quote !== undefined) {
      if (c === quote) quote = undefined
      else if (c === "\\" && quote === '"' && i + 1 < template.length) word += template[++i]
      else word += c
    } else if (c === "'" || c === '"') {
      quote = c
      inWord = true
    } else if (c === "\\" && i + 1 < template.length) {
      word += template[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ""
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} in command template: ${template}`)
  if (inWord) words.push(word)
  return words
}

/**
 * An outside implementation from a command template such as
 * `'./my-receiver receive --listen {endpoint}'`.
 *
 * - `{endpoint}` (required) is replaced by the endpoint (a socket path or `tcp://127.0.0.1:PORT`);
 *   `{path}` / `{port}` by its parts if the program wants them separately.
 * - For a `peer`, the case's PEERS.md flags go where `{args}` is, or at the end.
 *   A `server` gets no flags.
 */
export const fromTemplate = (name: string, role: Role, template: string, kind: Kind = "peer"): Impl => {
  const words = splitWords(template)
  if (words.length === 0) throw new Error(`empty --${role}-cmd`)
  if (!words.some((w) => w.includes("{endpoint}") || w.includes("{path}") || w.includes("{port}")))
    throw new Error(`--${role}-cmd must contain {endpoint} (or {path} / {port}): ${template}`)
  return {
    name,
    kind,
    command: (r, endpoint, flags) => {
      if (r !== role) return undefined
      const tcp = endpoint.startsWith("tcp://")
      const port = tcp ? endpoint.slice(endpoint.lastIndexOf(":") + 1) : ""
      const socketPath = tcp ? "" : endpoint.replace(/^unix:/, "")
      const out: Array<string> = []
      let placed = false
      for (const w of words) {
        if (w === "{args}") {
          if (kind === "peer") out.push(...flags)
          placed = true
          continue
        }
        out.push(w.replaceAll("{endpoint}", endpoint).replaceAll("{path}", socketPath).replaceAll("{port}", port))
      }
      if (!placed && kind === "peer") out.push(...flags)
      return out
    },
    availability: () => ({ ok: true })
  }
}

/** `import.meta.resolve(specifier)` as a file URL, with a CommonJS fallback for hosts without it (vitest). */
export const resolveModule = (specifier: string): string => {
  try {
    return import.meta.resolve(specifier)
  } catch {
    return pathToFileURL(createRequire(import.meta.url).resolve(specifier)).href
  }
}
