/**
 * The Rust and Go reference peers' toolchain steps (build, lint, test) and the prebuilt copies
 * that the published package ships.
 *
 * - In this repository the package's npm scripts (hence nx and the root `npm test`) run
 *   {@link runTasks}; a missing `cargo` or `go` is reported loudly and skipped, and with
 *   `CI=true` it is a failure (this repository's CI must build and test both peers).
 * - `npm pack` / `npm publish` run `prepack`, which builds the peers and copies every binary of
 *   {@link PEER_BINARIES} into `dist/prebuilt/<platform>-<arch>/` ({@link copyPrebuilt}); a
 *   missing binary fails the pack.
 * - An installed package on a platform without prebuilt binaries builds them from its shipped
 *   sources with `txlane-conformance peers build` (the same {@link runTasks}, in place).
 *
 * @module
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

/** True under `CI=true` (or `CI=1`). Only this repository's own peer build/lint/test steps read it. */
export const isCI = (): boolean => {
  const ci = process.env.CI?.toLowerCase()
  return ci === "true" || ci === "1"
}

/** The absolute path of `command` on PATH, or undefined. */
export const which = (command: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue
    const file = path.join(dir, command)
    try {
      fs.accessSync(file, fs.constants.X_OK)
      if (fs.statSync(file).isFile()) return file
    } catch {
      // not here
    }
  }
  return undefined
}

/** The reference peers' languages. */
export type Language = "rust" | "go"

/** The platform key of prebuilt binaries: `linux-x64`, `darwin-arm64`, … (Node's names). */
export const PLATFORM = `${process.platform}-${process.arch}`

/** The platforms whose binaries the published package ships (the pack must run on one of them). */
export const PREBUILT_PLATFORMS: ReadonlyArray<string> = ["linux-x64"]

/**
 * Every binary of the reference peers: built by `cargo build --release` / `go build ./cmd/...`,
 * copied into the package by `prepack`. One line per binary; the pack fails if one is missing.
 */
export const PEER_BINARIES: ReadonlyArray<{ readonly language: Language; readonly name: string }> = [
  { language: "rust", name: "txlane-rust-receiver" },
  { language: "rust", name: "txlane-rust-sender" },
  { language: "rust", name: "txlane-deployed-server" },
  { language: "go", name: "txlane-go-receiver" },
  { language: "go", name: "txlane-go-sender" },
  { language: "go", name: "txlane-deployed-producer" }
]

/** Where a from-source build leaves a language's binaries (in the repository, or in an installed package). */
export const builtDir = (packageRoot: string, language: Language): string =>
  language === "rust"
    ? path.join(packageRoot, "peers", "rust", "target", "release")
    : path.join(packageRoot, "peers", "go", "bin")

/** Where the published package keeps the prebuilt binaries of `platform`. */
export const prebuiltDir = (packageRoot: string, platform: string = PLATFORM): string =>
  path.join(packageRoot, "dist", "prebuilt", platform)

/** A step of a toolchain task. */
export interface Step {
  readonly argv: ReadonlyArray<string>
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>
  /** The step fails if it prints anything on stdout (`gofmt -l`). */
  readonly failOnOutput?: boolean
}

/** A toolchain and its steps per task. */
export interface Toolchain {
  readonly name: Language
  /** The command whose absence means "no toolchain". */
  readonly command: string
  readonly cwd: string
  readonly tasks: Readonly<Record<Task, ReadonlyArray<Step>>>
}

/** The tasks of the npm scripts. */
export type Task = "build" | "lint" | "test"

/** The Rust and Go peers. */
export const toolchains = (packageRoot: string): ReadonlyArray<Toolchain> => [
  {
    name: "rust",
    command: "cargo",
    cwd: path.join(packageRoot, "peers", "rust"),
    tasks: {
      build: [{ argv: ["cargo", "build", "--release", "--locked"] }],
      lint: [
        { argv: ["cargo", "fmt", "--all", "--check"] },
        { argv: ["cargo", "clippy", "--all-targets", "--locked", "--", "-D", "warnings"] }
      ],
      test: [{ argv: ["cargo", "test", "--locked"] }]
    }
  },
  {
    name: "go",
    command: "go",
    cwd: path.join(packageRoot, "peers", "go"),
    tasks: {
      // CGO_ENABLED=0: a static binary (no libc dependency), which is what the package ships.
      // -trimpath and -s -w: no local paths or debug tables in it (about a third smaller).
      build: [
        {
          argv: ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", "bin/", "./cmd/..."],
          env: { CGO_ENABLED: "0" }
        }
      ],
      lint: [{ argv: ["gofmt", "-l", "."], failOnOutput: true }, { argv: ["go", "vet", "./..."] }],
      test: [{ argv: ["go", "test", "./..."] }]
    }
  }
]

const banner = (text: string): string => `\n${"!".repeat(78)}\n!! ${text}\n${"!".repeat(78)}\n`

/** Options of {@link runTasks}. */
export interface RunTasksOptions {
  /** Only these toolchains (default: both). */
  readonly only?: ReadonlyArray<string> | undefined
  /**
   * What a missing toolchain is: `skip` (a banner, exit code unaffected) or `fail`.
   * Default: `fail` under `CI=true`, else `skip` (this repository's scripts).
   */
  readonly missing?: "skip" | "fail" | undefined
}

/**
 * Runs `tasks` for every toolchain, in order, printing each command on stderr. Returns the
 * process exit code: 0 when every step passed (or was skipped, see {@link RunTasksOptions.missing}), 1 otherwise.
 */
export const runTasks = (
  packageRoot: string,
  tasks: ReadonlyArray<Task>,
  only?: ReadonlyArray<string>,
  options: RunTasksOptions = {}
): number => {
  const selected = only ?? options.only
  const missing = options.missing ?? (isCI() ? "fail" : "skip")
  let failed = false
  for (const toolchain of toolchains(packageRoot)) {
    if (selected !== undefined && !selected.includes(toolchain.name)) continue
    if (which(toolchain.command) === undefined) {
      const message = `${toolchain.name} peer: \`${toolchain.command}\` not found on PATH — ${tasks.join(", ")} SKIPPED`
      if (missing === "fail") {
        process.stderr.write(banner(`${message} (this is a failure)`))
        failed = true
      } else {
        process.stderr.write(banner(`${message}; its matrix cells will be skipped unless prebuilt binaries exist`))
      }
      continue
    }
    for (const task of tasks) {
      for (const step of toolchain.tasks[task]) {
        const envText = Object.entries(step.env ?? {})
          .map(([k, v]) => `${k}=${v} `)
          .join("")
        process.stderr.write(
          `[${toolchain.name} ${task}] (cd ${path.relative(process.cwd(), toolchain.cwd) || "."} && ${envText}${step.argv.join(" ")})\n`
        )
        const [command, ...args] = step.argv
        const result = spawnSync(command!, args, {
          cwd: toolchain.cwd,
          env: { ...process.env, ...step.env },
          stdio: ["ignore", step.failOnOutput ? "pipe" : "inherit", "inherit"],
          encoding: "utf8"
        })
        if (result.error) {
          process.stderr.write(`[${toolchain.name} ${task}] cannot run ${command}: ${result.error.message}\n`)
          failed = true
          break
        }
        if (step.failOnOutput && result.stdout.trim() !== "") {
          process.stderr.write(
            `[${toolchain.name} ${task}] ${step.argv.join(" ")} must print nothing, got:\n${result.stdout}`
          )
          failed = true
          break
        }
        if (result.status !== 0) {
          process.stderr.write(
            `[${toolchain.name} ${task}] failed: ${step.argv.join(" ")} (exit ${result.status ?? result.signal})\n`
          )
          failed = true
          break
        }
      }
    }
  }
  return failed ? 1 : 0
}

/**
 * Copies every binary of {@link PEER_BINARIES} from the build directories into
 * `dist/prebuilt/<PLATFORM>/` (replacing what was there). Throws, naming every missing binary,
 * if one is not built, and if this platform is not one of {@link PREBUILT_PLATFORMS}.
 * Returns the copied files with their sizes.
 */
export const copyPrebuilt = (packageRoot: string): ReadonlyArray<{ readonly file: string; readonly bytes: number }> => {
  if (!PREBUILT_PLATFORMS.includes(PLATFORM))
    throw new Error(`prebuilt peers are made on ${PREBUILT_PLATFORMS.join(", ")} only, not on ${PLATFORM}`)
  const sources = PEER_BINARIES.map((b) => path.join(builtDir(packageRoot, b.language), b.name))
  const missing = sources.filter((file) => !fs.existsSync(file))
  if (missing.length > 0)
    throw new Error(
      `cannot ship the reference peers, not built: ${missing.map((f) => path.relative(packageRoot, f)).join(", ")} (run \`npm run build:peers -w @txlane/conformance\` with cargo and go installed)`
    )
  const dir = prebuiltDir(packageRoot)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  return sources.map((source) => {
    const file = path.join(dir, path.basename(source))
    fs.copyFileSync(source, file)
    fs.chmodSync(file, 0o755)
    return { file, bytes: fs.statSync(file).size }
  })
}

/** Removes `dist/prebuilt/` (after the pack, so that a stale copy never outlives it in the repository). */
export const removePrebuilt = (packageRoot: string): void =>
  fs.rmSync(path.join(packageRoot, "dist", "prebuilt"), { recursive: true, force: true })
