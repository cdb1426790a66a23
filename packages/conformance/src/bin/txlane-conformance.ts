#!/usr/bin/env node
/**
 * `txlane-conformance [--quick] [--only TERMS] [--require rust,go] [--junit FILE] [--summary-md FILE]
 * [--json FILE] [--receiver-cmd CMD | --sender-cmd CMD] …` and `txlane-conformance peers build|list`
 * — see `src/harness/Cli.ts` and the package README. Also installed as `conformance`, the bin
 * that `npx @txlane/conformance` runs.
 *
 * Exit codes: 0 pass, 1 a cell failed (or a required peer is missing), 2 usage error.
 *
 * @module
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Main } from "@txlane/cli"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { command, exitCode } from "../harness/Cli.js"

const requested = new Main.RequestedExit()

command.pipe(
  Command.run({ version: Main.packageVersion(import.meta.url) }),
  Effect.tap(() =>
    Effect.sync(() => {
      requested.code = exitCode.code
    })
  ),
  Effect.provide([NodeServices.layer, Main.presenter("txlane-conformance")]),
  NodeRuntime.runMain({ teardown: Main.teardown(requested) })
)
