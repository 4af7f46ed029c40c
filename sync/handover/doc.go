// Package handover is the hub's chat hand-over watcher: it polls Chaport
// for chats a bot hands over to a human operator, and tells the agents
// concerned (feed.TypeChat) so that the employee learns what the bot
// already heard. It owns the feature whole: its loop (watcher.go), the
// classifier that reads a chat's events (classify.go, pure), what it pushes
// to whom and how much per poll (push.go), the saved state of chats already
// announced (state.go), and its config, the "chats" section of the hub's
// config file (config.go).
//
// It touches the hub only through Env: the Chaport client, a clock, a log,
// an Audience, which the hub implements over its connected agents (the
// agents of the staff linked to an operator, or every agent whose status
// gives chat access) and which pushes to them, and optionally a StateStore,
// where a hub replica keeps the state in the cluster's shared state instead
// of a file.
package handover
