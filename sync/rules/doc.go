// Package rules is the single place that decides what an employee's Chaport
// operator should be, and says why in words a person can read in the tray
// ("why am I online?").
//
// It is pure on purpose: no I/O, no goroutines, no clock reads, so that every
// branch can be pinned down by table tests with hand-picked times. The agent
// decides with Decide; the hub's own write policy (sync/hub/writepolicy.go,
// pure too) asks this package's Catalogue.ChatAccess whether "online" may be
// written, so the two read the mapping the same way.
//
// The mapping is Omnidesk's own chat integration: Online (id 1) or a custom
// status configured with chat access keeps the operator online; Offline (2),
// Without chats (3), a custom status without access, or an id nobody
// configured sends it offline after a grace delay, which is cancelled if chat
// access returns in time. Omnidesk's API does not say which custom statuses
// give chat access, so that part comes from configuration.
//
// Decide never answers "offline" when it cannot know the status: it answers
// Hold, and the Chaport lease the agent stopped renewing lapses by itself.
package rules
