/**
 * Endpoints (SPEC.md §1): `/abs/path.sock`, `unix:/abs/path.sock` or `tcp://host:port`.
 *
 * @module
 */
import { Result } from "effect"
import { InvalidEndpoint } from "./errors.js"

/** A Unix domain socket path. */
export interface Unix {
  readonly _tag: "Unix"
  readonly path: string
}

/** A TCP host and port (`port` 0 asks a listener for an ephemeral port). */
export interface Tcp {
  readonly _tag: "Tcp"
  readonly host: string
  readonly port: number
}

/** Where a receiver listens or a sender connects. */
export type Endpoint = Unix | Tcp

/** A Unix endpoint. */
export const unix = (path: string): Unix => ({ _tag: "Unix", path })

/** A TCP endpoint. */
export const tcp = (host: string, port: number): Tcp => ({ _tag: "Tcp", host, port })

/** Parses an endpoint string. */
export const parse = (input: string): Result.Result<Endpoint, InvalidEndpoint> => {
  const fail = (reason: string) => Result.fail(new InvalidEndpoint({ input, reason }))
  if (input.startsWith("tcp://")) {
    const rest = input.slice("tcp://".length)
    const colon = rest.lastIndexOf(":")
    if (colon <= 0) return fail("expected tcp://HOST:PORT")
    let host = rest.slice(0, colon)
    const portText = rest.slice(colon + 1)
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1)
    if (host === "" || host.includes("/")) return fail("missing or invalid host")
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return fail("port must be 0-65535")
    return Result.succeed(tcp(host, Number(portText)))
  }
  const path = input.startsWith("unix:") ? input.slice("unix:".length) : input
  if (!path.startsWith("/")) return fail("expected an absolute socket path, unix:/path, or tcp://HOST:PORT")
  return Result.succeed(unix(path))
}

/** The canonical string form: the path for Unix, `tcp://host:port` for TCP. */
export const format = (endpoint: Endpoint): string =>
  endpoint._tag === "Unix"
    ? endpoint.path
    : `tcp://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`

/** Options for `node:net` `connect`/`listen` (`{ path }` or `{ host, port }`). */
export const toNetOptions = (endpoint: Endpoint): { path: string } | { host: string; port: number } =>
  endpoint._tag === "Unix" ? { path: endpoint.path } : { host: endpoint.host, port: endpoint.port }
