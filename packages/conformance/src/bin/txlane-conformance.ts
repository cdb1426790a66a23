#!/usr/bin/env node
/**
 * `txlane-conformance [--quick] [--json FILE] [--only TERMS] [--receiver-cmd CMD] [--sender-cmd CMD] …`
 * — see `src/harness/Cli.ts` and the package README.
 *
 * @module
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect, Exit } from "effect"
import { Command } from "effect/cli"
import { command } from "../harness/Cli.js"

command.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({
    // The matrix sets process.exitCode when a case fails; keep it on a successful run.
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) ? Number(process.exitCode ?? 0) : Exit.hasInterrupts(exit) ? 130 : 1)
  })
)
