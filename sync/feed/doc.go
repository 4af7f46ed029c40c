// Package feed is the websocket protocol between the hub (one per company)
// and the agents (one per employee): the message types, the hub's end of a
// connection (Accept, ServerConn) and the agent's reconnecting end (Client).
//
// Omnidesk has no push API, so the hub polls it once for the whole account
// and pushes each employee's status down this feed. The agent asks the hub,
// over the same connection, to write its Chaport operator's status and to
// switch its Omnidesk status; the hub holds the vendor credentials, the agent
// only its own hub token.
//
// # Connecting
//
// The agent derives the URL from the hub's base URL with WebsocketURL
// (https://hub.example → wss://hub.example/v1/feed). Plain ws:// is refused
// to anything but loopback unless the user passed --insecure. The token
// travels only in the handshake's "Authorization: Bearer <token>" header,
// never in the URL, and is never put into an error or a log line. The hub
// answers a bad token with HTTP 401 (or 403) before upgrading; the client
// then stops with an error wrapping ErrUnauthorized (a *RefusedError with
// the hub's reason and "ask for a new token, then run `omnitray login`")
// instead of retrying. Handshakes carrying an
// Origin header (browsers) are refused by default.
//
// # Frames and versioning
//
// Every frame is one JSON text message, an envelope:
//
//	{"v":1,"type":"status","id":"r7","data":{...}}
//
// v is the protocol version (Version). A frame of another version is ignored
// by both sides, so that new message shapes can be introduced under a new
// version while old peers are still around. id is set by the agent on a
// request and echoed by the hub's answer; data is the type's payload. Unknown
// fields inside data are ignored, and so are unknown types (logged at debug
// level): adding either is a compatible change, changing or removing one is
// not and needs a new version.
//
// # Hub → agent
//
// "snapshot" is always the first frame on a connection, so that every
// reconnect starts from whole, current state. operator is null when the
// employee is linked to no Chaport operator. The hub may send another
// snapshot later (e.g. after a re-link); it replaces all earlier state.
// chaport, when the hub has read it, is the operator's Chaport status with
// the time of that read (left out when unknown):
//
//	{"v":1,"type":"snapshot","data":{
//	  "staff":{"id":42,"name":"Anna","email":"anna@acme.example"},
//	  "operator":{"id":"5f1c","name":"Anna","email":"anna@acme.example"},
//	  "statuses":[{"id":1,"name":"Online","chat_access":true,"active":true},
//	              {"id":2,"name":"Offline","chat_access":false,"active":true}],
//	  "status_id":1,"observed_at":"2026-03-02T09:00:00Z",
//	  "omnidesk_url":"https://acme.omnidesk.ru",
//	  "chaport":{"status":"offline","real_status":"offline","read_at":"2026-03-02T08:58:00Z"}}}
//
// "status" reports a new Omnidesk status; "catalogue" replaces the list of
// statuses (an admin edited them, or the hub's mapping changed):
//
//	{"v":1,"type":"status","data":{"status_id":2,"observed_at":"2026-03-02T09:05:00Z"}}
//	{"v":1,"type":"catalogue","data":{"statuses":[{"id":1,"name":"Online","chat_access":true,"active":true}]}}
//
// "chat" tells the agent that a Chaport bot handed a chat over to a human
// (kind "handover", with the bot's transcript) or that a human answered it
// afterwards (kind "operator_reply"). Only hand-overs reach agents: chats the
// bot alone handles stay quiet.
//
//	{"v":1,"type":"chat","data":{"kind":"handover","chat_id":1042,"visitor_id":"65…","visitor_name":"Maria",
//	  "bot_name":"Helper Bot","operator_id":"5f…","at":"…","transcript":[{"from":"visitor","text":"Hi"},
//	  {"from":"bot","text":"How can I help?"}]}}
//
// # Agent → hub requests
//
// Each request carries an id and gets exactly one answer with the same id,
// "ack" or "error". A request without an id is answered with bad_request.
//
// "switch_status" asks the hub to set the employee's Omnidesk status. No
// Omnidesk document covers such a write, and a 200 may mean it was ignored,
// so the hub confirms it: from the write's reply when that carries the staff
// record, else by reading the staff member back. The ack means Omnidesk
// shows the new status, and carries it; the employee's agents also get it
// as a "status" frame, sent before the ack. A switch Omnidesk took without
// applying it is answered not_applied (refused when Omnidesk said no).
//
//	→ {"v":1,"type":"switch_status","id":"r1","data":{"status_id":3}}
//	← {"v":1,"type":"status","data":{"status_id":3,"observed_at":"2026-03-02T09:05:01Z"}}
//	← {"v":1,"type":"ack","id":"r1","data":{"status_id":3,"observed_at":"2026-03-02T09:05:01Z"}}
//	← {"v":1,"type":"error","id":"r1","data":{"code":"not_applied","message":"Omnidesk did not apply «Без чатов»; it still shows «Онлайн»"}}
//
// "set_chaport" writes the linked operator's Chaport status as a lease that
// lapses after ttl_seconds unless renewed, so a crashed agent cannot leave
// its operator online. The hub refuses "online" when the current Omnidesk
// status has no chat access. The ack carries the state Chaport reports.
//
//	→ {"v":1,"type":"set_chaport","id":"r2","data":{"status":"online","ttl_seconds":120}}
//	← {"v":1,"type":"ack","id":"r2","data":{"status":"online","last_status":"offline",
//	     "real_status":"online","expires_at":"2026-03-02T09:02:00Z"}}
//
// "extend_online" keeps an operator online through the grace delay after
// the Omnidesk status lost chat access (and through a "stay online" the
// employee asked for). It is not "set_chaport online", which stays refused
// without chat access: the hub grants it only to an operator it wrote online
// whose lease is still live, and never beyond its grace allowance after the
// access ended; ttl_seconds in the ack is what was granted.
//
//	→ {"v":1,"type":"extend_online","id":"r4","data":{"ttl_seconds":120}}
//	← {"v":1,"type":"ack","id":"r4","data":{"status":"online","last_status":"online",
//	     "real_status":"online","expires_at":"2026-03-02T09:04:00Z","ttl_seconds":95}}
//
// "read_operator" reads the operator's state without changing it, so the
// agent can detect drift (someone changed it in Chaport directly).
//
//	→ {"v":1,"type":"read_operator","id":"r3","data":{}}
//	← {"v":1,"type":"ack","id":"r3","data":{"status":"offline","last_status":"online","real_status":"offline"}}
//
// set_chaport and extend_online may carry the agent's reason ("reason",
// "cause"); the hub keeps it in the employee's status history.
//
// # One employee, several computers
//
// "presence" tells the hub whether the employee is at this computer
// (present, locked, asleep, idle or paused) and names it. The hub answers
// every computer of the employee, on every join, leave and report, with a
// "devices" frame: the list, and which one keeps the operator (the present
// one that connected first). The others write nothing while it is there.
//
//	→ {"v":1,"type":"presence","id":"r4","data":{"host":"desk","state":"locked"}}
//	← {"v":1,"type":"devices","data":{"owner":false,"devices":[{"host":"desk","state":"locked","self":true,…},
//	    {"host":"laptop","state":"present","owner":true,…}]}}
//
// # History
//
// "history" pages through the caller's own transitions after a time, oldest
// first ("more" says ask again after the last one); "today" answers the day
// so far in one small frame: time online for chats and the last transitions.
//
//	→ {"v":1,"type":"history","id":"r5","data":{"after":"2026-12-01T09:00:00Z"}}
//	← {"v":1,"type":"ack","id":"r5","data":{"entries":[{"at":…,"kind":"chaport","from":"online","to":"offline","cause":"lock",…}],"more":false}}
//	→ {"v":1,"type":"today","id":"r6","data":{"since":"2026-12-02T00:00:00+03:00"}}
//	← {"v":1,"type":"ack","id":"r6","data":{"online_seconds":11520,"online_now":true,"as_of":…,"recent":[…]}}
//
// # Errors
//
//	← {"v":1,"type":"error","id":"r2","data":{"code":"no_chat_access","message":"status Without chats gives no chat access"}}
//
// The code is the contract, the message is for people:
//
//	bad_request     malformed frame or payload (also sent, with the id when
//	                readable, for a frame that is not valid JSON; the
//	                connection stays up)
//	forbidden       the token may not do this
//	no_chat_access  "online" asked while the mapping gives no chat access, or
//	                an extension past the grace allowance
//	refused         the vendor (Omnidesk or Chaport) said no
//	not_applied     Omnidesk answered a status switch but does not show the
//	                new status (the write was silently ignored)
//	unavailable     the vendor could not be reached
//	rate_limited    the vendor's rate limit, or the hub's own limit on this
//	                connection or employee, is used up; retry_after_seconds
//	                (when present) says when the same request may succeed
//	not_linked      the employee has no Chaport operator
//	internal        a hub fault; details are in the hub's log
//
// The client surfaces an error answer as a *RemoteError. It ignores frames
// from the hub that are not valid JSON.
//
// # Limits, pings and timeouts
//
// A frame may be at most DefaultMaxFrameBytes (64 KiB); a larger one makes
// the receiver close the connection (close code 1009) and log it. Both sides
// ping every DefaultPingInterval (20s) and push their read deadline out by
// DefaultPongWait (45s) on every pong, ping or frame; a peer silent for longer
// is dropped (ErrPeerSilent). A write that takes longer than DefaultWriteWait
// (10s) fails the connection. The hub queues at most DefaultSendQueue (64)
// frames per agent; an agent that cannot keep up is disconnected
// (ErrSlowClient) rather than slowing the hub down, and catches up through
// the snapshot when it reconnects. All of these are options.
//
// # Close codes
//
// Besides the standard codes (1000 normal, 1001 hub shutting down, 1009
// frame too large), the hub closes a session with an application code in
// the 4000–4999 range and a reason meant for the employee:
//
//	4401  token expired — run `omnitray login`     (the token's exp passed while connected)
//	4403  token revoked — ask your administrator for a new token
//	4008  replaced by a newer connection: at most N at once per employee
//	      (the oldest of an employee's connections, over the hub's
//	      sessions_per_staff; the client waits its longest backoff)
//
// A handshake with such a token is answered HTTP 401 with the same code in
// the "Omnitray-Refusal" header and the reason as the body. Either way the
// client stops with ErrTokenExpired or ErrTokenRevoked (both wrap
// ErrUnauthorized) instead of reconnecting: only a new token helps.
//
// # Reconnecting
//
// Client.Run reconnects after any loss with exponential backoff from
// DefaultMinBackoff (0.5s) to DefaultMaxBackoff (30s) with equal jitter (a
// random delay in the upper half of the current step), so that a hub restart
// does not bring every agent back at the same instant. The backoff starts
// over after a connection that delivered a snapshot or stayed up a minute.
// Requests still waiting when a connection drops fail with ErrNotConnected;
// they are not resent, because the agent must decide afresh from the next
// snapshot.
//
// A hub may be several replicas: ClientOptions.URLs (WebsocketURLs parses
// the comma-separated --hub). The client starts with the first URL; after a
// failed try or a dropped connection it tries the next URL at once, and
// waits the backoff only after every URL failed in a row (a round; the
// backoff grows per round). A dropped live connection starts a new round
// at the next replica, at most once per replica between waits, so that
// replicas that all hang up at once cannot keep agents in a tight loop.
// A refused token (any replica speaks for all) still stops the client, and
// a close for the session cap (CloseTooManySessions, counted across the
// cluster) still waits the longest backoff before any other replica is
// asked. An address that never answered as a hub is said once; the client
// slows to HopelessBackoff only when no address of the list is a hub.
package feed
