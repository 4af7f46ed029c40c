// Package chaport is a client for the Chaport REST API v1: the operator status
// lease the hub writes on behalf of an employee, and the visitor, chat and
// event reads it polls to spot chat-bot conversations. Chaport offers operators
// no push channel, so everything here is a plain request/response call.
//
// The HTTP plumbing and the error kinds come from sync/vendorapi; callers test
// failures with errors.Is(err, vendorapi.ErrRateLimited) and friends, and read
// the server's wait with vendorapi.RetryAfter. Invalid arguments are rejected
// before any request and unwrap to vendorapi.ErrBadRequest, since retrying them
// can never help. The token is only ever put in the Authorization header, never
// in an error.
//
// Much of the API could not be confirmed from the vendor's own docs (see
// docs/vendor-contract.md and its checklist), so the unconfirmed parts
// are either configuration or decoded tolerantly:
//
//   - The body field names of the status write ("ttl", "validUntil") and the
//     status field itself are Config values with those defaults.
//   - The status strings: only "online" appears in a vendor example. Status is a
//     plain string type so that a value such as "away" can be tried without a
//     code change; the client does not restrict it.
//   - The reply to a status write is assumed to be {"result": <operator>}. When
//     the result is not an object the write still counts as done and a zero
//     Operator is returned; callers verify through GetOperator's RealStatus.
//   - The event timestamp field (default "createdAt") is a Config value; events
//     without it have a zero At.
//   - Event ids may be strings or numbers; they are kept as opaque strings.
//   - Event types are free-form: unknown types decode like any other, all params
//     are kept raw, and the bot id/name params ("botId", "botName") are guesses.
//   - A chat's "operators" may be a list of ids or of objects with an "id".
//   - A chat's rating is kept raw, because its type is unknown.
//
// Every 2xx reply must be the envelope {"result": …}; one without a result is
// reported as vendorapi.ErrBadResponse rather than read as an empty value, so
// that a changed API fails loudly instead of looking like "no operators".
package chaport
