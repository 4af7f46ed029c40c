// Package omnidesk is a client for the Omnidesk (and Deskie) REST API, covering
// only what status sync needs: the staff list, one staff member, the staff
// status catalogue, and a status switch.
//
// The wire format has quirks that the package hides from callers:
//
//   - Lists are JSON objects keyed by stringified index ("0", "1", …), each item
//     wrapped again in a singular key, plus a count key ("total_count" for staff,
//     "count" for statuses). Items are ordered by their numeric index, never by
//     map order; an empty list may arrive as {} or [].
//   - Dates are RFC 1123 strings with a numeric zone; see Time.
//   - Rate-limit headers are rate_limit_per_minute, api_calls_left and
//     retry_after (underscores). The client records the first two from every
//     response (see Client.Limits) and maps both 429 and the legacy
//     "403 rate limit exceeded" to vendorapi.ErrRateLimited.
//
// Errors from the HTTP layer are *vendorapi.Error values; test them with
// errors.Is against the vendorapi.Err* kinds. A body that cannot be decoded
// wraps vendorapi.ErrBadResponse. The API key never appears in an error.
//
// Unconfirmed against the live service (docs/vendor-contract.md):
//
//   - No endpoint for setting a staff status is documented. SetStaffStatus sends
//     PUT /api/staff/{id}.json with {"staff": {"status_id": N}} by default, and
//     Config.StatusWrite can change method, path and field without a code change.
//     The real service may refuse it (expect vendorapi.ErrBadRequest or
//     ErrForbidden), or answer 200 and ignore the field. SetStaffStatus
//     therefore returns the staff record when the reply has one with a
//     status_id, and nil otherwise, so that callers confirm the switch (from
//     the record, else with GetStaff) before they call it done; when it did
//     not happen they should tell the user to switch in Omnidesk.
//   - The error body format and the status code for bad credentials.
//   - That the per-minute headers are present on every response; Limits reports
//     Known=false until one is seen.
package omnidesk
