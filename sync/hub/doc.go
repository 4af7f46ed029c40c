// Package hub is the per-company Omnitray server. It polls Omnidesk once for
// the whole account, within a share of the account's per-minute budget, and
// serves each employee's agent a websocket feed (sync/feed) of that employee's
// status. It alone holds the vendor credentials: agents ask it to write their
// own linked Chaport operator's status, and it refuses anything else — another
// operator, or "online" while the employee's Omnidesk status has no chat
// access.
//
// What the hub knows of the company (staff, statuses, catalogue, operators
// and links: company.go) is kept apart from who is connected (sessions per
// staff member, their computers, the session cap: subscribers.go); the
// directory (directory.go) holds both under one lock and pushes each
// change to the sessions subscribed for the staff member it is about.
//
// Agents authenticate with tokens signed by the hub secret (see Sign). A
// token names one staff member and expires; it is read only from the
// handshake's Authorization header, never from a URL, and never logged.
// The token commands record each token's id (never the token) and its
// revocations in tokens.json in the state directory; the hub re-reads it
// and ends a session whose token is revoked or expires (sessionauth.go).
//
// Beside its pollers it runs the chat hand-over watcher, sync/handover,
// which it wires to its Chaport client and its connected agents
// (handover.go); the watcher's config is the file's "chats" section.
package hub
