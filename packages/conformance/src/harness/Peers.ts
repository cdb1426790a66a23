/**
 * The implementations in the matrix and how to start each one as a PEERS.md peer.
 *
 * Built-in: `ts` (this repository's `@txlane/sender` / `@txlane/receiver`: from source with tsx
 * in the repository, the built JS when installed), `rust` and `go` (binaries built from
 * `peers/`, or the prebuilt copies the published package ships; see {@link locatePeerBinary}). An outside implementation comes in
 * through a command template (`--receiver-cmd` / `--sender-cmd`, see {@link fromTemplate}).
 *
 * @module
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { builtDir, type Language, PLATFORM, PREBUILT_PLATFORMS, prebuiltDir, which } from "./Toolchain.js"

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
  | {
      readonly ok: false
      readonly reason: string
      /** True for a reference peer that is not here (not prebuilt for this platform, not built): its cells are skipped. */
      readonly toolchain: boolean
    }

/** One implementation of the matrix. */
export interface Impl {
  /** Short name in case ids and the matrix: `ts`, `rust`, `go`, `custom`. */
  readonly name: string
  readonly kind: Kind
  /** The argv that starts it in `role` at `endpoint` with the PEERS.md `flags`, or undefined if it has no such role. */
  readonly command: (role: Role, endpoint: string, flags: ReadonlyArray<string>) => Array<string> | undefined
  /** Whether it can run here in `roles` (default: every role it has). */
  readonly availability: (roles?: ReadonlyArray<Role>) => Availability
  /** The reference toolchain it is built with, when not its own name: `--require <toolchain>` covers it. */
  readonly toolchain?: Language | undefined
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

/**
 * Where a reference peer binary is, in order of preference:
 * 1. the from-source build directory (`peers/rust/target/release`, `peers/go/bin`): this
 *    repository's fresh build, or what `txlane-conformance peers build` made in an installed package;
 * 2. `dist/prebuilt/<platform>-<arch>/`: the binaries the published package ships (linux-x64).
 *
 * The build directory comes first so that a stale prebuilt copy can never stand in for a
 * newer local build (the copy is made *from* the build directory by `prepack`).
 * Returns undefined when neither has it.
 */
export const locatePeerBinary = (language: Language, name: string): string | undefined => {
  for (const dir of [builtDir(packageRoot, language), prebuiltDir(packageRoot)]) {
    const file = path.join(dir, name)
    if (fs.existsSync(file)) return file
  }
  return undefined
}

/** True when the harness runs from its TypeScript sources (this repository), not from the installed `dist/`. */
const fromSource = (): boolean => fileURLToPath(import.meta.url).endsWith(".ts")

/** The command that builds the reference peers, as the user can type it here. */
export const buildCommand = (language?: Language): string =>
  fromSource()
    ? "npm run build:peers -w @txlane/conformance"
    : `npx -p @txlane/conformance txlane-conformance peers build${language === undefined ? "" : ` --only ${language}`}`

const TOOLCHAIN: Readonly<Record<Language, { readonly command: string; readonly install: string }>> = {
  rust: { command: "cargo", install: "install Rust (https://rustup.rs)" },
  go: { command: "go", install: "install Go >= 1.22 (https://go.dev/dl)" }
}

/**
 * Whether the reference binary `name` of `language` is here (see {@link locatePeerBinary}); if
 * not, the reason says what is missing (`what`, e.g. `rust receiver`), where it was looked for,
 * and exactly how to get it. Use this for every binary of `peers/` (the deployed emulators
 * too), so that an installed package finds the prebuilt copies and a missing one is a skip
 * with the same wording.
 */
export const binaryAvailability = (language: Language, name: string, what: string = name): Availability => {
  if (locatePeerBinary(language, name) !== undefined) return { ok: true }
  const prebuilt = PREBUILT_PLATFORMS.includes(PLATFORM)
    ? `not in ${path.relative(packageRoot, prebuiltDir(packageRoot))}`
    : `no prebuilt binaries for ${PLATFORM}`
  const { command, install } = TOOLCHAIN[language]
  const how =
    which(command) === undefined
      ? `no \`${command}\` on PATH to build it: ${install}, then run \`${buildCommand(language)}\``
      : `run \`${buildCommand(language)}\``
  return {
    ok: false,
    reason: `${what} not available (${name}: ${prebuilt}, not built in ${path.relative(packageRoot, builtDir(packageRoot, language))}; ${how})`,
    toolchain: true
  }
}

/** Whether the testee binaries of `language` for `roles` are here; the reason names the missing role. */
const peerAvailability = (language: Language, roles: ReadonlyArray<Role>): Availability => {
  for (const role of roles) {
    const a = binaryAvailability(language, `txlane-${language}-${role}`, `${language} ${role}`)
    if (!a.ok) return a
  }
  return { ok: true }
}

const BOTH: ReadonlyArray<Role> = ["receiver", "sender"]

const referencePeer = (language: Language): Impl => ({
  name: language,
  kind: "peer",
  command: (role, endpoint, flags) => {
    const name = `txlane-${language}-${role}`
    return [
      locatePeerBinary(language, name) ?? path.join(builtDir(packageRoot, language), name),
      ...roleFlag(role, endpoint),
      ...flags
    ]
  },
  availability: (roles = BOTH) => peerAvailability(language, roles)
})

/** The Rust peer (`peers/rust`): prebuilt in the package, or `cargo build --release`. */
export const rust: Impl = referencePeer("rust")

/** The Go peer (`peers/go`): prebuilt in the package, or `go build ./cmd/...`. */
export const go: Impl = referencePeer("go")

/**
 * The deployed-server emulator (`txlane-deployed-server`, from the Rust crate): a receiver only,
 * on Unix sockets, that behaves on the wire as the deployed Rust transaction server.
 */
export const deployedServer: Impl = {
  name: "deployed-server",
  kind: "peer",
  toolchain: "rust",
  command: (role, endpoint, flags) =>
    role === "receiver"
      ? [
          locatePeerBinary("rust", "txlane-deployed-server") ??
            path.join(builtDir(packageRoot, "rust"), "txlane-deployed-server"),
          "receive",
          ...roleFlag(role, endpoint),
          ...flags
        ]
      : undefined,
  availability: () => binaryAvailability("rust", "txlane-deployed-server", "the deployed-server emulator")
}

/**
 * The deployed-producer emulator (`txlane-deployed-producer`, from the Go module): a sender only,
 * request/response per worker, as the deployed Go producer.
 */
export const deployedProducer: Impl = {
  name: "deployed-producer",
  kind: "peer",
  toolchain: "go",
  command: (role, endpoint, flags) =>
    role === "sender"
      ? [
          locatePeerBinary("go", "txlane-deployed-producer") ??
            path.join(builtDir(packageRoot, "go"), "txlane-deployed-producer"),
          "send",
          ...roleFlag(role, endpoint),
          ...flags
        ]
      : undefined,
  availability: () => binaryAvailability("go", "txlane-deployed-producer", "the deployed-producer emulator")
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
