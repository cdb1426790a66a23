/**
 * Child processes for the reliability runs, from the shared test kit: peer binaries, the kit's
 * receiver child, and `children/sender.ts`. None outlives the run (SIGKILL on exit).
 *
 * @module
 */
import * as Path from "node:path"
import { Children, ReceiverChild } from "@txlane/testkit"

const PACKAGE_ROOT = Path.join(import.meta.dirname, "..", "..")

/** A running child: its JSON lines, stdin and signals. */
export type Child = Children.Child

export const { killAll, rssOf } = Children

/** Starts `command` + args in the package directory, with `env` added to ours. */
export const spawn = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Child =>
  Children.spawn(command, args, { cwd: PACKAGE_ROOT, env })

/** Starts `children/sender.ts` with `options` as its JSON argument. */
export const spawnSender = (options: object): Child =>
  Children.spawnScript(Path.join(import.meta.dirname, "..", "children", "sender.ts"), options, { cwd: PACKAGE_ROOT })

/** Starts the kit's receiver child and waits for its `listening` line. */
export const startReceiver = (options: ReceiverChild.ReceiverChildOptions): Promise<ReceiverChild.ReceiverChild> =>
  ReceiverChild.spawnReceiver(options)
