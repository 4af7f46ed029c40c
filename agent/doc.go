// Package agent is the employee-side brain of Omnitray: one event loop that
// owns the agent's state, follows the hub's feed of the employee's Omnidesk
// status, decides the Chaport status with sync/rules, and keeps the Chaport
// lease alive while the employee works. The tray, the CLI, the desktop
// notifications (agent/notices, which this package does not import) and
// tests are thin users of it. The loop's state is in small parts (loop.go
// lists them: the hub link, the lease keeper, the drift check, the other
// computers, today's history…), each owning its fields and events and saying
// when it is next due; the loop dispatches, arms one timer for the earliest
// due time, and publishes snapshots.
package agent
