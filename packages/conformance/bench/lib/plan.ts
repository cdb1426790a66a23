/**
 * What the benchmark measures: the workloads, the implementations (conformance peers and the
 * lean/baseline benchmark peers), and the cells of a full or `--quick` run.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import {
  type Availability,
  deployedProducer as deployedProducerPeer,
  deployedServer as deployedServerPeer,
  go,
  type Impl,
  packageRoot,
  resolveModule,
  rust,
  ts
} from "../../src/harness/Peers.js"

/** `packages/conformance/bench`. */
export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

// ---------------------------------------------------------------------------------------------
// Workloads

export type WorkloadId = "upstream" | "small" | "single" | "large"

export interface Workload {
  readonly id: WorkloadId
  readonly label: string
  readonly txPerBatch: number
  readonly txSize: number
  /** Payload bytes of one batch: K × (1 + varintLen(S) + S). */
  readonly payloadBytes: number
  /** Batches per throughput cell of a full run (~1–3 s on the fast pairings). */
  readonly fullBatches: number
  /** Batches per throughput cell of `--quick`. */
  readonly quickBatches: number
}

const varintLen = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4)
const workload = (w: Omit<Workload, "payloadBytes">): Workload => ({
  ...w,
  payloadBytes: w.txPerBatch * (1 + varintLen(w.txSize) + w.txSize)
})

export const workloads: ReadonlyArray<Workload> = [
  workload({
    id: "upstream",
    label: "upstream: 50 × 650 B (≈32 KiB)",
    txPerBatch: 50,
    txSize: 650,
    fullBatches: 40_000,
    quickBatches: 2_000
  }),
  workload({
    id: "small",
    label: "small: 50 × 200 B (≈10 KiB)",
    txPerBatch: 50,
    txSize: 200,
    fullBatches: 80_000,
    quickBatches: 4_000
  }),
  workload({
    id: "single",
    label: "single: 1 × 650 B",
    txPerBatch: 1,
    txSize: 650,
    fullBatches: 200_000,
    quickBatches: 10_000
  }),
  workload({
    id: "large",
    label: "large: 1024 × 1020 B (≈1 MiB)",
    txPerBatch: 1024,
    txSize: 1020,
    fullBatches: 2_000,
    quickBatches: 100
  })
]

export const workloadById = (id: WorkloadId): Workload => workloads.find((w) => w.id === id)!

// ---------------------------------------------------------------------------------------------
// Implementations

export type Role = "sender" | "receiver"

/** An implementation the benchmark can start, in one or both roles. */
export interface BenchImpl {
  /** Short name used in pairing names: `ts`, `rust`, `go`, `txlane`, `raw`, `zeromq`, `legacy`. */
  readonly name: string
  readonly roles: ReadonlyArray<Role>
  /** Whether it accepts the contract's `--timeout-ms` (the baselines do not). */
  readonly timeoutFlag: boolean
  /** Relative cost of its sender per batch (scales the cell's batch count). */
  readonly costFactor: number
  readonly command: (role: Role, endpoint: string, flags: ReadonlyArray<string>) => Array<string>
  readonly availability: () => Availability
}

const fromPeer = (impl: Impl, costFactor: number, roles: ReadonlyArray<Role> = ["sender", "receiver"]): BenchImpl => ({
  name: impl.name,
  roles,
  timeoutFlag: true,
  costFactor,
  command: (role, endpoint, flags) => impl.command(role, endpoint, flags) ?? [],
  availability: impl.availability
})

/** Argv of a TypeScript file of `bench/` run from source (tsx, `txlane-source` condition). */
export const tsArgv = (file: string): Array<string> => [
  process.execPath,
  "--conditions=txlane-source",
  "--import",
  resolveModule("tsx"),
  path.join(benchDir, file)
]

const benchPeer = (name: string, file: string, roles: ReadonlyArray<Role>): BenchImpl => ({
  name,
  roles,
  timeoutFlag: false,
  costFactor: 1,
  command: (role, endpoint, flags) => [
    ...tsArgv(path.join("peers", file)),
    role === "receiver" ? "receive" : "send",
    role === "receiver" ? "--listen" : "--endpoint",
    endpoint,
    ...flags
  ],
  availability: () =>
    fs.existsSync(path.join(benchDir, "peers", file))
      ? { ok: true }
      : { ok: false, reason: `bench/peers/${file} missing`, toolchain: false }
})

/**
 * The conformance peers (`src/harness/Peers.ts`). Each generates the deterministic workload
 * while sending and SHA-256-digests every transaction on both sides (PEERS.md), so the
 * cross-language pairings compare like with like. The TS sender pays that per-transaction work
 * in JavaScript, hence its lower count.
 */
export const contractImpls: ReadonlyArray<BenchImpl> = [fromPeer(ts, 0.2), fromPeer(rust, 1), fromPeer(go, 1)]

/** txlane itself without the digest (bench/peers/txlane.ts): compared with the baselines. */
export const txlane = benchPeer("txlane", "txlane.ts", ["sender", "receiver"])
/** The Node ceiling (bench/peers/raw.ts). */
export const raw = benchPeer("raw", "raw.ts", ["sender", "receiver"])
/** zeromq.js PUSH/PULL over ipc:// (bench/peers/zeromq.ts). */
export const zeromq = benchPeer("zeromq", "zeromq.ts", ["sender", "receiver"])
/** The replaced design (bench/peers/legacy.ts), sender only. */
export const legacy = benchPeer("legacy", "legacy.ts", ["sender"])

export const contractImpl = (name: string): BenchImpl => contractImpls.find((i) => i.name === name)!

/** Emulator of the deployed Rust transaction server (answers every frame; Unix socket only). */
export const deployedServer = fromPeer(deployedServerPeer, 1, ["receiver"])
/** Emulator of the deployed Go producer (request/response per worker, 10 workers by default). */
export const deployedProducer = fromPeer(deployedProducerPeer, 1, ["sender"])

// ---------------------------------------------------------------------------------------------
// Cells

export type Section = "pairings" | "transports" | "sweeps" | "calibration" | "deployed" | "userpath" | "large-frames"
export type Transport = "unix" | "tcp"

/** One fire-and-forget throughput measurement: a receiver and a sender process. */
export interface CellSpec {
  readonly section: Section
  /** `ts→rust`, `txlane`, `raw`, … */
  readonly pairing: string
  readonly sender: BenchImpl
  readonly receiver: BenchImpl
  readonly workload: Workload
  readonly batches: number
  readonly transport: Transport
  readonly senderFlags: ReadonlyArray<string>
  readonly receiverFlags: ReadonlyArray<string>
  /** Sweep parameter, e.g. `{ workers: 8 }`. */
  readonly params: Readonly<Record<string, number | string>>
  /** The receiver's `--respond` (default `none`; the deployed peers need `json`). */
  readonly respond?: "none" | "json" | undefined
}

/** The contract pairings, sender→receiver. */
export const pairings: ReadonlyArray<readonly [string, string]> = [
  ["ts", "ts"],
  ["ts", "rust"],
  ["rust", "ts"],
  ["go", "ts"],
  ["go", "rust"],
  ["rust", "rust"]
]

export const pairingName = (s: string, r: string): string => `${s}→${r}`

/** The transport comparison rows: txlane (lean) and the baselines, with their receiver. */
export const transportRows: ReadonlyArray<{
  readonly name: string
  readonly sender: BenchImpl
  readonly receiver: BenchImpl
  readonly transport: Transport
}> = [
  { name: "txlane", sender: txlane, receiver: txlane, transport: "unix" },
  { name: "raw", sender: raw, receiver: raw, transport: "unix" },
  { name: "zeromq", sender: zeromq, receiver: zeromq, transport: "unix" },
  // The sender library alone (no JS workload generation or digest) into the Rust receiver:
  // isolates the TS sender from the contract peer's per-transaction JavaScript work.
  { name: "txlane→rust", sender: txlane, receiver: contractImpl("rust"), transport: "unix" },
  // The old design ran over TCP; measured against the raw receiver.
  { name: "legacy", sender: legacy, receiver: raw, transport: "tcp" }
]

/** The legacy sender sleeps 1 ms per send: its count is fixed, whatever the workload. */
export const LEGACY_BATCHES = { full: 1_500, quick: 200 } as const

/** Sweep values (one factor at a time around the defaults). */
export const sweepValues = (quick: boolean) =>
  quick
    ? { workers: [1, 4], handlers: [1], queue: [100], ackWorkers: [1, 4] }
    : {
        workers: [1, 2, 4, 8, 16],
        handlers: [1, 4, 16],
        queue: [100, 1_000, 10_000],
        ackWorkers: [1, 2, 4, 8, 16]
      }

/** The packages' defaults, as documented in `@txlane/sender` and `@txlane/receiver`. */
export const currentDefaults = { workers: 4, handlers: 16, queue: 1_000 } as const

/** Offered loads of the latency series (batches/s; 0 = saturation). */
export const latencyLoads: ReadonlyArray<number> = [1_000, 10_000, 0]

/** Matches a `--only` term against a pairing or section name (`ts->ts`, `ts-ts`, `ts→ts`, `raw`, `latency`). */
export const matchesOnly = (only: ReadonlyArray<string> | undefined, name: string): boolean => {
  if (only === undefined || only.length === 0) return true
  const norm = (s: string) => s.toLowerCase().replace(/->|-|>|→/g, "→")
  return only.some((o) => norm(o) === norm(name))
}

export { packageRoot }
