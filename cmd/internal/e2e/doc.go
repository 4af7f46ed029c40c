// Package e2e holds the end-to-end tests of Omnitray: they build the real
// omnitray and omnitray-hub binaries and run them as separate processes on
// loopback — the sandbox (fake Chaport and Omnidesk), a hub against it, and
// headless agents — then check what the fakes recorded. Nothing here is
// linked into a product binary; the package has no non-test code besides
// this comment.
//
// The tests drive the command line and environment contract of
// the command-line contract (README, Commands) and read results only through the sandbox's
// control port (/_sandbox/calls, /_sandbox/state), the hub's /healthz, the
// feed protocol and `omnitray status --json`, so that they hold for any
// implementation that keeps those contracts.
package e2e
