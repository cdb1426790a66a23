/**
 * The Rust and Go peers' toolchain steps (build, lint, test), as run by the package's npm
 * scripts and therefore by the root `npm test` through nx.
 *
 * Outside CI a missing toolchain is reported loudly and the step is skipped (the matrix then
 * marks those cells `skipped (no cargo)`); with `CI=true` it is a failure.
 *
 * @module
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

/** True under `CI=true` (or `CI=1`), where skipping a toolchain is a failure. */
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

/** A step of a toolchain task. */
export interface Step {
  readonly argv: ReadonlyArray<string>
  /** The step fails if it prints anything on stdout (`gofmt -l`). */
  readonly failOnOutput?: boolean
}

/** A toolchain and its steps per task. */
export interface Toolchain {
  readonly name: string
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
      build: [{ argv: ["go", "build", "-o", "bin/", "./cmd/..."] }],
      lint: [{ argv: ["gofmt", "-l", "."], failOnOutput: true }, { argv: ["go", "vet", "./..."] }],
      test: [{ argv: ["go", "test", "./..."] }]
    }
  }
]

const banner = (text: string): string => `\n${"!".repeat(78)}\n!! ${text}\n${"!".repeat(78)}\n`

/**
 * Runs `tasks` for every toolchain, in order, printing each command. Returns the process exit
 * code: 0 when every step passed or was skipped outside CI, 1 otherwise.
 */
export const runTasks = (packageRoot: string, tasks: ReadonlyArray<Task>, only?: ReadonlyArray<string>): number => {
  let failed = false
  for (const toolchain of toolchains(packageRoot)) {
    if (only !== undefined && !only.includes(toolchain.name)) continue
    if (which(toolchain.command) === undefined) {
      const message = `${toolchain.name} peer: \`${toolchain.command}\` not found on PATH — ${tasks.join(", ")} SKIPPED`
      if (isCI()) {
        process.stderr.write(banner(`${message} (CI=true: this is a failure)`))
        failed = true
      } else {
        process.stderr.write(banner(`${message}; its matrix cells will be skipped (no ${toolchain.command})`))
      }
      continue
    }
    for (const task of tasks) {
      for (const step of toolchain.tasks[task]) {
        process.stderr.write(
          `[${toolchain.name} ${task}] (cd ${path.relative(process.cwd(), toolchain.cwd) || "."} && ${step.argv.join(" ")})\n`
        )
        const [command, ...args] = step.argv
        const result = spawnSync(command!, args, {
          cwd: toolchain.cwd,
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
