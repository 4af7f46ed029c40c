// Package sandbox runs strict local fakes of the Chaport and Omnidesk REST APIs,
// the embedded default of Omnitray and its test bed.
//
// The fakes follow docs/vendor-contract.md, the vendors' contract as the code
// assumes it, not the Omnitray clients: where the real services are known to
// refuse something (bad credentials, bad bodies, unknown ids, calls over the
// rate budget) the fakes refuse it the same way, and where a fact about the
// real services is unconfirmed the fake makes it a setting with the best guess
// as default (Chaport's status body field names, the allowed status strings,
// the bot event type, whether Omnidesk accepts a status write).
//
// Each API listens on its own loopback port, as the real services live on
// separate hosts. A third port serves the control surface: the HTML page at "/"
// and the JSON test controls under "/_sandbox/" (flip a staff status, script a
// chat, inject faults, move the clock, read the call log). The controls are
// never reachable through the API ports, so a client cannot pass its tests by
// accident through a back door.
//
// Chaport operator statuses are leases: a write sets lastStatus and an expiry,
// and realStatus falls back to "offline" once the expiry passes on the
// sandbox's clock. The clock is injectable and can be moved forward through the
// controls, so tests watch a lease lapse without sleeping.
package sandbox
