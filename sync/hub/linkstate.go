package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/omnitray/omnitray/internal/atomicfile"
	"github.com/omnitray/omnitray/internal/failstreak"
)

// The pinned links (links.go) live in StateDir/links.json, 0600:
//
//	{"version": 1, "pins": {"201": "5f1a2b3c4d5e6f7081920a01", "203": "5f1a2b3c4d5e6f7081920a03"}}
//
// staff id (plain decimal, as in the config's links) → Chaport operator id.
// The hub writes it when a pin is made or dropped, out of the directory's
// lock, and once more at the end of Run. An admin moves a link with a config
// link, or by removing its entry while the hub is stopped: the staff member
// is then pinned again from their current e-mail.
//
// A file that cannot be read or parsed stops the hub from starting, rather
// than starting without pins: pins are a security property, and a hub that
// forgot them would link everyone again from their current e-mail, which is
// the very attack they prevent (whoever was given a colleague's address
// would be linked to the colleague's operator). A missing file is a first
// start.

// LinksFileName is the pinned links' file in the state directory.
const LinksFileName = "links.json"

const linksStateVersion = 1

// maxOperatorIDLen bounds an operator id read back from the file; Chaport's
// are 24 hex digits.
const maxOperatorIDLen = 128

type linksState struct {
	Version int               `json:"version"`
	Pins    map[string]string `json:"pins"`
}

// loadPins reads the pinned links; a missing file means none yet.
func loadPins(path string) (map[int64]string, error) {
	pins := map[int64]string{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return pins, nil
	}
	if err == nil {
		pins, err = parsePins(data)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the pinned operator links %s: %w (fix the file, or remove it while the hub is stopped to pin every staff member again from their current e-mail)", path, err)
	}
	return pins, nil
}

// parsePins decodes the file strictly: a typo must not silently unpin, or
// pin, anyone.
func parsePins(data []byte) (map[int64]string, error) {
	var st linksState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("parsing: trailing data after the JSON object")
	}
	if st.Version != linksStateVersion {
		return nil, fmt.Errorf("version %d, want %d", st.Version, linksStateVersion)
	}
	pins := make(map[int64]string, len(st.Pins))
	for k, op := range st.Pins {
		staff, err := parseID(k)
		if err != nil {
			return nil, fmt.Errorf("staff id %q: %w", k, err)
		}
		if op == "" || len(op) > maxOperatorIDLen || strings.ContainsAny(op, " \t\r\n/") {
			return nil, fmt.Errorf("staff %s: operator id %q is empty, too long or has a space or slash", k, op)
		}
		pins[staff] = op
	}
	return pins, nil
}

func savePins(path string, pins map[int64]string) error {
	data, err := json.MarshalIndent(pinsState(pins), "", "  ") // an admin may edit it
	if err != nil {
		return fmt.Errorf("encoding the pinned operator links: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the pinned operator links: %w", err)
	}
	return nil
}

// pinsState is the pins as the file (and the cluster's shared state) has them.
func pinsState(pins map[int64]string) linksState {
	st := linksState{Version: linksStateVersion, Pins: make(map[string]string, len(pins))}
	for staff, op := range pins {
		st.Pins[strconv.FormatInt(staff, 10)] = op
	}
	return st
}

// linksFile is where the pins are kept; "" keeps them in memory only.
func linksFile(stateDir string) string {
	if stateDir == "" {
		return ""
	}
	return filepath.Join(stateDir, LinksFileName)
}

// maxPinLines is how many new e-mail pins are logged one by one.
const maxPinLines = 10

// linkKeeper logs the directory's link notes and saves its pins, away from
// the directory's lock.
type linkKeeper struct {
	mu      sync.Mutex
	path    string
	unsaved map[int64]string // pins a failed save left, for the next try
	saves   failstreak.Streak
}

// keepLinks runs until ctx ends, acting on each change of the links.
func (h *Hub) keepLinks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.dir.co.linkWork:
			h.flushLinks()
		}
	}
}

// flushLinks logs the new link notes and saves the pins if they changed
// (or an earlier save failed). Run's end calls it once more.
func (h *Hub) flushLinks() {
	k := h.links
	k.mu.Lock()
	defer k.mu.Unlock()
	notes, pins, changed := h.dir.takeLinks()
	// A first start pins everyone at once: with thousands of staff, one
	// Info line says so and the per-staff lines go to Debug.
	pinned := 0
	for _, n := range notes {
		if n.Level == slog.LevelInfo && strings.HasPrefix(n.Key, "pinned:") {
			pinned++
		}
	}
	for _, n := range notes {
		level := n.Level
		if pinned > maxPinLines && level == slog.LevelInfo && strings.HasPrefix(n.Key, "pinned:") {
			level = slog.LevelDebug
		}
		h.log.Log(context.Background(), level, n.Msg, n.Attrs...)
	}
	if pinned > maxPinLines {
		h.log.Info("staff members linked to the Chaport operators with their e-mails; links pinned", "staff", pinned)
	}
	if changed {
		k.unsaved = pins
		if h.rep.isLeading() {
			// Every replica pins alike from the same pages; the leader's
			// copy is for replicas that start later (sharedPins).
			h.rep.put(h.ctx, keyPins, pinsState(pins))
		}
	}
	if k.unsaved == nil || k.path == "" {
		return
	}
	err := savePins(k.path, k.unsaved)
	k.saves.Note(h.log, err, "could not save the pinned operator links; a restart would pin them again from e-mails",
		"saving the pinned operator links works again")
	if err == nil {
		k.unsaved = nil
	}
}

// sharedPins adds the cluster's pins to those of the local file: a replica
// that joins late, or whose disk was replaced, must not pin anew from
// e-mails what the others pinned long ago. Without an answer it keeps the
// file's, and says so.
func sharedPins(r Replicas, pins map[int64]string, log *slog.Logger) map[int64]string {
	ctx, cancel := context.WithTimeout(context.Background(), sharedStateTimeout)
	defer cancel()
	data, err := r.Get(ctx, keyPins)
	if errors.Is(err, ErrNoState) {
		return pins
	}
	var shared map[int64]string
	if err == nil {
		shared, err = parsePins(data)
	}
	if err != nil {
		log.Warn("could not read the cluster's pinned operator links; starting from this replica's own", "err", err)
		return pins
	}
	for staff, op := range shared {
		pins[staff] = op
	}
	return pins
}
