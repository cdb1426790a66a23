/**
 * The published artefacts work: `npm pack` every package (from its built `dist/`; nx builds
 * them first — the conformance `test` target depends on `build` and `^build`; the conformance
 * `prepack` builds the Rust and Go peers and copies them into `dist/prebuilt/linux-x64/`),
 * install the tarballs into a fresh project under os.tmpdir() — outside the workspace, so
 * nothing resolves to the sources — and run a tiny send/receive through the installed library
 * APIs and the bins of `@txlane/cli`. The libraries declare `effect` as a peer, and a
 * sender-only install (`@txlane/sender` + `@txlane/protocol`) pulls none of the CLI's dependencies. Then, on a PATH without cargo and go, the installed `txlane-conformance` runs
 * the whole quick matrix with the prebuilt Rust and Go peers (every cell green, the JUnit file
 * parsed and checked), `npx` finds the harness, a missing peer is skipped with its reason (and
 * fails under `--require`), and `txlane-conformance peers build` builds a peer from the shipped
 * sources.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Util from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PEER_BINARIES } from "../src/harness/Toolchain.js"
import { findAll, parseXml } from "./lib/xml.js"

const ROOT = Path.resolve(import.meta.dirname, "../../..")
const PACKAGES = ["protocol", "sender", "receiver", "cli", "conformance"] as const
/** The libraries: `effect` is their peer, and none of them brings a CLI dependency. */
const LIBRARIES = ["protocol", "sender", "receiver"] as const
/** What only the command-line tools need (`@effect/platform-node` and what it pulls). */
const CLI_ONLY = [
  "@txlane/cli",
  "@effect/platform-node",
  "@effect/platform-node-shared",
  "undici",
  "ws",
  "redis",
  "@redis"
]
/** npm install of five tarballs plus effect & co. from the registry (cache first). */
const INSTALL_TIMEOUT_MS = 240_000
/** `npm pack` of the conformance package runs its prepack: the peer builds (no-ops when up to date). */
const PACK_TIMEOUT_MS = 600_000
/** The whole quick matrix on a busy 2-core machine. */
const QUICK_MATRIX_TIMEOUT_MS = 15 * 60_000
/** Commands that must not be on the PATH the installed harness runs with. */
const TOOLCHAIN_COMMANDS = ["cargo", "rustc", "go", "gofmt"]

let project = ""
// Child processes get the Node running this test first on PATH: the bins' `#!/usr/bin/env node` then runs Node 22.
const env = { ...process.env, PATH: `${Path.dirname(process.execPath)}${Path.delimiter}${process.env.PATH ?? ""}` }

const exec = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs = 60_000): string =>
  ChildProcess.execFileSync(command, args, { cwd, env, encoding: "utf8", timeout: timeoutMs, stdio: "pipe" })

const hasCommand = (dir: string, command: string): boolean => {
  try {
    Fs.accessSync(Path.join(dir, command), Fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** This Node first, then every PATH directory that holds none of {@link TOOLCHAIN_COMMANDS}. */
const barePath = [
  Path.dirname(process.execPath),
  ...(process.env.PATH ?? "")
    .split(Path.delimiter)
    .filter((dir) => dir !== "" && !TOOLCHAIN_COMMANDS.some((c) => hasCommand(dir, c)))
].join(Path.delimiter)
const bareEnv = { ...process.env, PATH: barePath, NO_COLOR: "1" }

/** Runs an installed bin on the bare PATH; never throws on a non-zero exit. */
const runBare = (command: string, args: ReadonlyArray<string>, timeoutMs = 120_000, extraEnv = {}) => {
  const result = ChildProcess.spawnSync(command, args, {
    cwd: project,
    env: { ...bareEnv, ...extraEnv },
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024
  })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** True when an ELF executable has no program interpreter (PT_INTERP): statically linked. */
const isStaticElf = (file: string): boolean => {
  const b = Fs.readFileSync(file)
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) throw new Error(`${file}: not a 64-bit ELF file`)
  const phoff = Number(b.readBigUInt64LE(0x20))
  const phentsize = b.readUInt16LE(0x36)
  const phnum = b.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false
  return true
}

interface Packed {
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number; readonly mode: number }>
}
const packed = new Map<string, Packed>()

beforeAll(() => {
  project = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txlane-packed-"))
  const tarballs = PACKAGES.map((name) => {
    const dir = Path.join(ROOT, "packages", name)
    if (!Fs.existsSync(Path.join(dir, "dist", "index.js"))) throw new Error(`packages/${name} is not built`)
    const out = JSON.parse(
      exec("npm", ["pack", "--json", "--pack-destination", project], dir, PACK_TIMEOUT_MS)
    ) as Array<Packed>
    packed.set(name, out[0]!)
    return Path.join(project, out[0]!.filename)
  })
  Fs.writeFileSync(
    Path.join(project, "package.json"),
    JSON.stringify({ name: "txlane-packed-install", private: true, type: "module" })
  )
  exec("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs], project, INSTALL_TIMEOUT_MS)
}, PACK_TIMEOUT_MS + INSTALL_TIMEOUT_MS)

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
import { Digest, Workload } from "@txlane/protocol/testing"
import { Format } from "@txlane/cli"
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
    // The bins come from @txlane/cli (the libraries have none), and answer -V as well as --version.
    for (const name of ["txlane-sender", "txlane-receiver", "txlane"]) {
      expect(Fs.realpathSync(Path.join(bin, name))).toContain(Path.join("@txlane", "cli", "bin"))
      const version = Util.stripVTControlCharacters(exec(Path.join(bin, name), ["-V"], project))
      expect(version.trim()).toMatch(new RegExp(`^${name} v\\d+\\.\\d+\\.\\d+`))
    }
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

describe("packed install: dependencies", () => {
  it.each(LIBRARIES)("@txlane/%s takes effect as a peerDependency (^4.1.0) and has no bin", (name) => {
    const manifest = JSON.parse(
      Fs.readFileSync(Path.join(project, "node_modules", "@txlane", name, "package.json"), "utf8")
    ) as Record<string, Record<string, string> | undefined>
    expect(manifest.peerDependencies).toEqual({ effect: "^4.1.0" })
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain("effect")
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain("@effect/platform-node")
    expect(manifest.bin).toBeUndefined()
  })

  it("a sender-only install (@txlane/sender + @txlane/protocol) pulls effect and no CLI dependency", () => {
    const alone = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txlane-sender-only-"))
    try {
      Fs.writeFileSync(Path.join(alone, "package.json"), JSON.stringify({ name: "sender-only", private: true }))
      const tarballs = ["protocol", "sender"].map((name) => Path.join(project, packed.get(name)!.filename))
      exec(
        "npm",
        ["install", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs],
        alone,
        INSTALL_TIMEOUT_MS
      )
      const modules = Path.join(alone, "node_modules")
      const present = CLI_ONLY.filter((name) => Fs.existsSync(Path.join(modules, name)))
      expect(present).toEqual([])
      // npm installs the peer itself; the sender works with it.
      expect(Fs.existsSync(Path.join(modules, "effect", "package.json"))).toBe(true)
      const check = `import { createSender } from "@txlane/sender"; console.log(typeof createSender)`
      expect(exec(process.execPath, ["--input-type=module", "-e", check], alone).trim()).toBe("function")
      process.stderr.write(`sender-only install: node_modules ${exec("du", ["-sh", modules], alone).split("\t")[0]}\n`)
    } finally {
      Fs.rmSync(alone, { recursive: true, force: true })
    }
  })
})

const installed = () => Path.join(project, "node_modules", "@txlane", "conformance")
const bin = (name: string) => Path.join(project, "node_modules", ".bin", name)
const prebuilt = (name: string) => Path.join(installed(), "dist", "prebuilt", "linux-x64", name)
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`

describe("packed install: licence, peer sources and prebuilt peers", () => {
  it.each(PACKAGES)("@txlane/%s ships the Apache-2.0 LICENSE", (name) => {
    expect(packed.get(name)!.files.map((f) => f.path)).toContain("LICENSE")
    expect(Fs.readFileSync(Path.join(project, "node_modules", "@txlane", name, "LICENSE"), "utf8")).toBe(
      Fs.readFileSync(Path.join(ROOT, "LICENSE"), "utf8")
    )
  })

  it("@txlane/conformance ships every reference peer prebuilt for linux-x64 (executable; Go static), and their sources", () => {
    const conformance = packed.get("conformance")!
    const files = new Map(conformance.files.map((f) => [f.path, f]))
    const sizes = PEER_BINARIES.map(({ language, name }) => {
      const entry = files.get(`dist/prebuilt/linux-x64/${name}`)
      expect(entry, name).toBeDefined()
      expect(entry!.mode & 0o111, `${name} mode`).toBe(0o111)
      const file = prebuilt(name)
      Fs.accessSync(file, Fs.constants.X_OK)
      if (language === "go") expect(isStaticElf(file), `${name} is static`).toBe(true)
      return `${name} ${mib(entry!.size)}`
    })
    for (const source of ["peers/rust/Cargo.toml", "peers/rust/Cargo.lock", "peers/rust/src/lib.rs", "peers/go/go.mod"])
      expect(files.has(source), source).toBe(true)
    expect([...files.keys()].filter((f) => f.endsWith("_test.go") || f.includes("/target/"))).toEqual([])
    // Nothing prebuilt is left behind in the repository (postpack), so it can never go stale there.
    expect(Fs.existsSync(Path.join(ROOT, "packages", "conformance", "dist", "prebuilt"))).toBe(false)
    process.stderr.write(
      `@txlane/conformance tarball ${mib(conformance.size)} (unpacked ${mib(conformance.unpackedSize)}); ${sizes.join(", ")}\n`
    )
  })
})

describe("packed install: txlane-conformance with no cargo and no go on PATH", () => {
  it("the PATH really has no Rust or Go toolchain", () => {
    for (const dir of barePath.split(Path.delimiter))
      for (const command of TOOLCHAIN_COMMANDS) expect(hasCommand(dir, command), `${dir}/${command}`).toBe(false)
  })

  it("npx @txlane/conformance runs the harness (the `conformance` bin), and so does npx -p … txlane-conformance", () => {
    for (const args of [
      ["@txlane/conformance", "--version"],
      ["-p", "@txlane/conformance", "txlane-conformance", "--version"]
    ]) {
      const result = runBare("npx", ["--offline", ...args])
      expect(result.stderr).not.toMatch(/could not determine executable/i)
      expect(result.stdout.trim()).toMatch(/^txlane-conformance v\d+\.\d+\.\d+$/)
      expect(result.code).toBe(0)
    }
  }, 240_000)

  it("a typo in --only exits 2 with the valid choices", () => {
    const result = runBare(bin("txlane-conformance"), ["--quick", "--only", "scenario=strem"])
    expect(result.stderr).toMatch(/unknown scenario `strem` \(valid: stream, /)
    expect(result.code).toBe(2)
  })

  it(
    "--quick --require rust,go --junit: every cell green, Rust and Go peers (prebuilt) in both roles, JUnit checked",
    () => {
      const junit = Path.join(project, "junit.xml")
      const json = Path.join(project, "report.json")
      const summary = Path.join(project, "summary.md")
      const list = runBare(bin("txlane-conformance"), ["peers", "list"])
      expect(list.code).toBe(0)
      for (const { name } of PEER_BINARIES) expect(list.stdout).toContain(`| ${name} | ${prebuilt(name)} |`)

      const result = runBare(
        bin("txlane-conformance"),
        ["--quick", "--require", "rust,go", "--junit", junit, "--json", json, "--summary-md", summary],
        QUICK_MATRIX_TIMEOUT_MS
      )
      const failing = result.stderr.split("\n").filter((l) => /^(fail|xpass|skip)\b/.test(l))
      expect(failing).toEqual([])
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("**PASS**")

      const report = JSON.parse(Fs.readFileSync(json, "utf8")) as {
        cases: Array<{ id: string; verdict: string; elapsedMs: number }>
        elapsedMs: number
      }
      expect(report.cases.length).toBeGreaterThan(100)
      expect(report.cases.filter((c) => c.verdict !== "pass")).toEqual([])
      expect(Number.isInteger(report.elapsedMs) && report.cases.every((c) => Number.isInteger(c.elapsedMs))).toBe(true)

      const xml = parseXml(Fs.readFileSync(junit, "utf8"))
      expect(xml.name).toBe("testsuites")
      const testcases = findAll(xml, "testcase")
      expect(xml.attributes).toMatchObject({
        tests: String(report.cases.length),
        failures: "0",
        errors: "0",
        skipped: "0"
      })
      expect(testcases.map((t) => t.attributes.name)).toEqual(report.cases.map((c) => c.id))
      expect(testcases.filter((t) => t.children.length > 0)).toEqual([])
      const ids = testcases.map((t) => t.attributes.name!)
      for (const pair of ["rust->go", "go->rust", "rust->rust", "go->go", "ts->rust", "go->ts"])
        expect(
          ids.some((id) => id.startsWith(`stream/${pair}/`)),
          pair
        ).toBe(true)
      for (const receiver of ["rust", "go"]) expect(ids.some((id) => id.endsWith(`/${receiver}/tcp`))).toBe(true)
      for (const sender of ["rust", "go"])
        expect(ids.some((id) => id.startsWith("sender-limit") && id.endsWith(`/${sender}`))).toBe(true)
      expect(Fs.readFileSync(summary, "utf8")).toMatch(/^### txlane conformance \(quick\): ✅ PASS/)
    },
    QUICK_MATRIX_TIMEOUT_MS + 60_000
  )

  it("without a Rust peer its cells are skipped with the reason (role, fix) — and fail with --require rust", () => {
    const aside = Path.join(project, "aside")
    Fs.mkdirSync(aside, { recursive: true })
    for (const { language, name } of PEER_BINARIES)
      if (language === "rust") Fs.renameSync(prebuilt(name), Path.join(aside, name))
    try {
      const only = ["--quick", "--only", "scenario=stream,sender=go,transport=uds,delivery=acknowledged"]
      const junit = Path.join(project, "skip.xml")
      const skipped = runBare(bin("txlane-conformance"), [...only, "--junit", junit])
      expect(skipped.code).toBe(0)
      expect(skipped.stderr).toContain("conformance cells SKIPPED")
      const testcases = findAll(parseXml(Fs.readFileSync(junit, "utf8")), "testcase")
      const byId = new Map(testcases.map((t) => [t.attributes.name, t]))
      expect(byId.get("stream/go->go/uds/acknowledged")!.children).toEqual([])
      expect(byId.get("stream/go->ts/uds/acknowledged")!.children).toEqual([])
      const skip = byId.get("stream/go->rust/uds/acknowledged")!.children[0]!
      expect(skip.name).toBe("skipped")
      // The receiver role is the missing one, and the message says exactly what to do.
      expect(skip.attributes.message).toMatch(/^rust receiver not available \(txlane-rust-receiver: /)
      expect(skip.attributes.message).toContain("no `cargo` on PATH")
      expect(skip.attributes.message).toContain("npx -p @txlane/conformance txlane-conformance peers build --only rust")

      const required = runBare(bin("txlane-conformance"), [...only, "--require", "rust", "--junit", junit])
      expect(required.code).toBe(1)
      const failure = findAll(parseXml(Fs.readFileSync(junit, "utf8")), "testcase").find(
        (t) => t.attributes.name === "stream/go->rust/uds/acknowledged"
      )!.children[0]!
      expect(failure).toMatchObject({ name: "failure", attributes: { type: "unavailable" } })
      expect(failure.text).toMatch(/required \(--require rust\) but rust receiver not available/)

      const build = runBare(bin("txlane-conformance"), ["peers", "build"])
      expect(build.code).toBe(1)
      expect(build.stderr).toContain("`cargo` not found on PATH")
    } finally {
      for (const { language, name } of PEER_BINARIES)
        if (language === "rust") Fs.renameSync(Path.join(aside, name), prebuilt(name))
    }
  }, 240_000)

  it("`peers build --only go` builds the Go peer from the shipped sources, and the harness then uses that build", () => {
    // Go is on the normal PATH (this repository builds it); the installed package has only its sources.
    const build = ChildProcess.spawnSync(bin("txlane-conformance"), ["peers", "build", "--only", "go"], {
      cwd: project,
      env: { ...env, NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 300_000
    })
    expect(build.stderr).toContain("go build")
    expect(build.status).toBe(0)
    const built = Path.join(installed(), "peers", "go", "bin")
    for (const { language, name } of PEER_BINARIES)
      if (language === "go") {
        expect(build.stdout).toContain(`| ${name} | ${Path.join(built, name)} |`)
        expect(isStaticElf(Path.join(built, name))).toBe(true)
      }
    const result = runBare(bin("txlane-conformance"), [
      ...["--quick", "--require", "go", "--only", "scenario=stream,sender=go,receiver=go,transport=uds"]
    ])
    expect(result.code).toBe(0)
  }, 360_000)
})

/**
 * The README's "### In CI" recipe, run as written against the Go testee kit's README example.
 * The command text is taken from the GitHub Actions yaml block verbatim, folded the way YAML folds
 * a `>` scalar (lines joined by single spaces). The only textual substitution is the pin:
 * `@txlane/conformance@0.2.0` → `@txlane/conformance`, because that version is not published from
 * this checkout; without a version `npx -p` resolves the package from the temp project's
 * node_modules, i.e. the tarballs installed above, exactly as it would use the pinned one from
 * the registry on a runner. `$PWD` and `$GITHUB_STEP_SUMMARY` are left for bash to expand, as on a
 * runner: the command runs with `bash -c` in the temp project (so `$PWD` is that directory), with
 * GITHUB_STEP_SUMMARY naming a file that already holds an earlier step's summary, on the PATH
 * without cargo and go (this Node first). The GitLab `script:` line is checked to be the same
 * command (with `$CI_PROJECT_DIR` for `$PWD` and no step summary) rather than run a second time.
 */
const CONFORMANCE_README = Path.join(ROOT, "packages", "conformance", "README.md")
const GO_KIT = Path.join(ROOT, "packages", "conformance", "peers", "go")
const GO_KIT_MODULE = "github.com/txlane/txlane/packages/conformance/peers/go"

/** The yaml blocks of the README's "### In CI" section, in order. */
const ciYamlBlocks = (): Array<string> => {
  const text = Fs.readFileSync(CONFORMANCE_README, "utf8")
  const at = text.indexOf("### In CI")
  if (at < 0) throw new Error('conformance README: no "### In CI" section')
  const end = text.indexOf("\n#", at + 1)
  const section = text.slice(at, end < 0 ? undefined : end)
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

/** The folded (`>`) scalar whose first line matches `opener`: its more-indented lines joined by spaces. */
const foldedScalar = (yaml: string, opener: RegExp): string => {
  const lines = yaml.split("\n")
  const start = lines.findIndex((l) => opener.test(l))
  if (start < 0) throw new Error(`no line matching ${opener} in the yaml block`)
  const indent = (l: string) => l.length - l.trimStart().length
  const parentIndent = indent(lines[start]!)
  const body: Array<string> = []
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== "" && indent(line) <= parentIndent) break
    body.push(line.trim())
  }
  // Plain folding: no blank or more-indented lines inside, so every line break becomes one space.
  expect(body.filter((l) => l === "")).toEqual([])
  return body.join(" ")
}

const GITHUB_RUN = /^\s*run: >\s*$/
const GITLAB_SCRIPT = /^\s*- >\s*$/
const PIN = /@txlane\/conformance@\d+\.\d+\.\d+/

describe("packed install: the README's CI recipe, run as written against the Go testee kit example", () => {
  const hasGo = ChildProcess.spawnSync("go", ["version"], { env }).status === 0
  if (!hasGo) console.warn("packed-install: `go` not found, skipping the CI recipe run")

  it("the GitHub Actions and GitLab CI recipes run the same command", () => {
    const [github, gitlab] = ciYamlBlocks()
    const run = foldedScalar(github!, GITHUB_RUN)
    const script = foldedScalar(gitlab!, GITLAB_SCRIPT)
    expect(run).toMatch(PIN)
    expect(script.match(PIN)?.[0]).toBe(run.match(PIN)?.[0])
    // GitLab has no step summary; otherwise only the project directory variable differs.
    expect(script.replaceAll("$CI_PROJECT_DIR", "$PWD")).toBe(run.replace(/ --summary-md "\$GITHUB_STEP_SUMMARY"/, ""))
  })

  it.skipIf(!hasGo)(
    "the GitHub Actions `run:` command, verbatim but for the pin: exit 0, every JUnit testcase passed, step summary appended",
    () => {
      // `go build -o bin/acme-testee …` with go on the normal PATH, as the step before does on a runner;
      // the example is a module of its own, the kit coming from this checkout through a replace directive.
      const source = Path.join(project, "acme-src")
      Fs.mkdirSync(source, { recursive: true })
      const goReadme = Fs.readFileSync(Path.join(GO_KIT, "README.md"), "utf8")
      const kit = goReadme.slice(goReadme.indexOf("## Testee kit"))
      expect(kit.startsWith("## Testee kit")).toBe(true)
      Fs.writeFileSync(Path.join(source, "main.go"), /```go\n([\s\S]*?)```/.exec(kit)![1]!)
      const goEnv = { ...env, GOFLAGS: "-mod=mod", GOPROXY: "off", GOWORK: "off" }
      for (const argv of [
        ["mod", "init", "example.com/acme"],
        ["mod", "edit", `-require=${GO_KIT_MODULE}@v0.0.0`, `-replace=${GO_KIT_MODULE}=${GO_KIT}`],
        ["build", "-o", Path.join(project, "bin", "acme-testee"), "."]
      ])
        ChildProcess.execFileSync("go", argv, { cwd: source, env: goEnv, stdio: "pipe", timeout: 180_000 })

      const run = foldedScalar(ciYamlBlocks()[0]!, GITHUB_RUN)
      const command = run.replace(PIN, "@txlane/conformance")
      expect(command).not.toBe(run)
      const summary = Path.join(project, "step-summary.md")
      Fs.writeFileSync(summary, "### an earlier step\n\n")
      const junit = Path.join(project, "txlane-conformance.xml")
      const result = runBare("bash", ["-c", command], QUICK_MATRIX_TIMEOUT_MS, { GITHUB_STEP_SUMMARY: summary })
      if (result.code !== 0)
        throw new Error(`${command}\nexit ${result.code}\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`)

      const xml = parseXml(Fs.readFileSync(junit, "utf8"))
      const testcases = findAll(xml, "testcase")
      expect(testcases.length).toBeGreaterThan(10)
      expect(testcases.filter((t) => t.children.length > 0).map((t) => t.attributes.name)).toEqual([])
      expect(xml.attributes).toMatchObject({
        tests: String(testcases.length),
        failures: "0",
        errors: "0",
        skipped: "0"
      })
      const ids = testcases.map((t) => t.attributes.name!)
      // The outside sender against every receiver: the prebuilt Rust and Go peers (--require rust,go) and ours.
      for (const receiver of ["rust", "go", "ts"])
        expect(
          ids.some((id) => id.includes(`acme->${receiver}/`)),
          `acme->${receiver}`
        ).toBe(true)
      const summaryText = Fs.readFileSync(summary, "utf8")
      expect(summaryText.startsWith("### an earlier step\n\n### txlane conformance (quick): ✅ PASS")).toBe(true)
    },
    QUICK_MATRIX_TIMEOUT_MS + 240_000
  )
})
