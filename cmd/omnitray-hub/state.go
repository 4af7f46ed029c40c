package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/omnitray/omnitray/cmd/internal/cli"
	"github.com/omnitray/omnitray/sync/hub"
)

// stateFlags say where the hub keeps what outlives it. serve and the token
// commands share them, so that `token revoke` run with serve's flags (or
// environment) finds the files the running hub reads.
type stateFlags struct {
	dir, file, config *string
}

func addStateFlags(fs *cli.FlagSet) *stateFlags {
	sf := &stateFlags{
		dir:    fs.String("state-dir", "", "directory for the hub's state: learned budget, pinned links, token registry and revocations, chat state (default: the user config dir's omnitray-hub, or the directory of --state-file)"),
		file:   fs.String("state-file", "", "where the chat watcher remembers announced chats (default: chat-state.json in the state directory)"),
		config: fs.String("config", "", "hub config file (JSON: links, chat_access, timings, limits)"),
	}
	fs.Env("state-dir", "OMNITRAY_HUB_STATE_DIR")
	fs.Env("state-file", "OMNITRAY_HUB_STATE")
	fs.Env("config", "OMNITRAY_HUB_CONFIG")
	return sf
}

// resolve loads the config and settles the state directory and the chat
// state file. An explicit --state-dir wins; else the directory of the chat
// state file named by --state-file or the config (where earlier versions
// kept the budget); else the user config directory.
func (sf *stateFlags) resolve() (dir string, fc hub.FileConfig, err error) {
	fc, err = hub.LoadFile(*sf.config)
	if err != nil {
		return "", fc, cli.Usagef("%v", err)
	}
	if *sf.file != "" {
		fc.Chats.StateFile = *sf.file
	}
	switch {
	case *sf.dir != "":
		dir = *sf.dir
	case fc.Chats.StateFile != "":
		dir = filepath.Dir(fc.Chats.StateFile)
	default:
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fc, cli.Usagef("no --state-dir given and no user config directory to default to: %v", err)
		}
		dir = filepath.Join(base, "omnitray-hub")
	}
	if fc.Chats.StateFile == "" {
		fc.Chats.StateFile = filepath.Join(dir, "chat-state.json")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fc, fmt.Errorf("creating the state directory: %w", err)
	}
	return dir, fc, nil
}
