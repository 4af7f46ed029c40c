// Package agent is the employee-side brain of Omnitray: one event loop that
// owns the agent's state, follows the hub's feed of the employee's Omnidesk
// status, decides the Chaport status with sync/rules, and keeps the Chaport
// lease alive while the employee works. The tray, the CLI, the desktop
// notifications (agent/notices, which this package does not import) and
// tests are thin users of it.
package agent
