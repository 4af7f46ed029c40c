// Package notices is what the agent tells the employee on the desktop,
// through a notify.Notifier: that Chaport goes offline soon (with "Stay
// online"), that the hub was lost or is back, that sign-in is needed, that
// a status switch did not happen (with "Open Omnidesk"), and the chats a
// bot handed over (one notification per hand-over or burst, a reminder
// when nobody answered). It owns the topics and actions of those
// notifications and the routing of clicks between them (Split,
// SplitSwitch).
//
// It reads the running agent only from outside: its published State
// (Watch), its chat events (ChatEvents), StayOnline, its clock and its log.
// Package agent does not import notify; cmd/omnitray wires both.
package notices
