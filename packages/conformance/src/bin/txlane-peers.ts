#!/usr/bin/env node
/**
 * `txlane-peers build|lint|test|prebuilt|clean-prebuilt… [--only rust|go]`: this repository's
 * Rust and Go peer steps (see `src/harness/Toolchain.ts`), used by the package's npm scripts,
 * hence by nx. `prebuilt` copies the built binaries into `dist/prebuilt/<platform>/` for the
 * tarball (`prepack`), failing on any missing one; `clean-prebuilt` removes them (`postpack`).
 *
 * @module
 */
import * as path from "node:path"
import { parseArgs } from "node:util"
import { packageRoot } from "../harness/Peers.js"
import { copyPrebuilt, removePrebuilt, runTasks, type Task } from "../harness/Toolchain.js"

const TASKS: ReadonlyArray<Task> = ["build", "lint", "test"]
const COMMANDS: ReadonlyArray<string> = [...TASKS, "prebuilt", "clean-prebuilt"]

const main = (): number => {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse()
  } catch (error) {
    process.stderr.write(`txlane-peers: ${error instanceof Error ? error.message : String(error)}\n`)
    return 2
  }
  const commands = parsed.positionals
  const bad = commands.filter((t) => !COMMANDS.includes(t))
  if (commands.length === 0 || bad.length > 0) {
    process.stderr.write(`usage: txlane-peers ${COMMANDS.join("|")}… [--only rust,go]\n`)
    return 2
  }
  const tasks = commands.filter((c): c is Task => TASKS.includes(c as Task))
  if (tasks.length > 0) {
    const code = runTasks(packageRoot, tasks, parsed.values.only?.split(","))
    if (code !== 0) return code
  }
  if (commands.includes("prebuilt")) {
    try {
      for (const { file, bytes } of copyPrebuilt(packageRoot))
        process.stderr.write(`[prebuilt] ${path.relative(packageRoot, file)} (${(bytes / 1048576).toFixed(1)} MiB)\n`)
    } catch (error) {
      process.stderr.write(`txlane-peers prebuilt: ${error instanceof Error ? error.message : String(error)}\n`)
      return 1
    }
  }
  if (commands.includes("clean-prebuilt")) removePrebuilt(packageRoot)
  return 0
}

const parse = () => parseArgs({ options: { only: { type: "string" } }, allowPositionals: true, strict: true })

process.exitCode = main()
