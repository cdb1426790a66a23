/**
 * The receiver tests' names for the shared test kit (`@txlane/testkit`): temp socket paths, the
 * poller for `stats()` snapshots, frame builders, and the raw client.
 */
import { Poll, RawClient, Temp } from "@txlane/testkit"

/** A fresh, short socket path in its own temp directory. */
export const tempSocketPath = (name = "r.sock"): string => Temp.socketPath(name, "txr-")

export const { cleanupTempDirs } = Temp
export const { waitFor } = Poll
export const { frames, header } = RawClient
/** A raw client: writes bytes, collects decoded responses, awaits counts and the server's close. */
export const Client = RawClient.RawClient
/** A connected {@link Client}. */
export type Client = RawClient.RawClient
