#!/usr/bin/env node
/**
 * `txlane-peers build|lint|test… [--only rust|go]`: the Rust and Go peers' toolchain steps
 * (see `src/harness/Toolchain.ts`). Used by the package's npm scripts, hence by nx.
 *
 * @module
 */
import { parseArgs } from "node:util"
import { packageRoot } from "../harness/Peers.js"
import { runTasks, type Task } from "../harness/Toolchain.js"

const TASKS: ReadonlyArray<Task> = ["build", "lint", "test"]

const main = (): number => {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse()
  } catch (error) {
    process.stderr.write(`txlane-peers: ${error instanceof Error ? error.message : String(error)}\n`)
    return 2
  }
  const tasks = parsed.positionals
  const bad = tasks.filter((t) => !TASKS.includes(t as Task))
  if (tasks.length === 0 || bad.length > 0) {
    process.stderr.write(`usage: txlane-peers ${TASKS.join("|")}… [--only rust,go]\n`)
    return 2
  }
  return runTasks(packageRoot, tasks as Array<Task>, parsed.values.only?.split(","))
}

const parse = () => parseArgs({ options: { only: { type: "string" } }, allowPositionals: true, strict: true })

process.exitCode = main()
