package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/omnitray/omnitray/internal/atomicfile"
)

// TokenSeenFileName is where the hub records when it last saw each token.
// It is a file of its own, written only by the hub, so that the hub never
// writes tokens.json and the token commands never race it.
const TokenSeenFileName = "token-seen.json"

// seenSaveEvery bounds how often the hub rewrites token-seen.json while
// agents are connected; "last seen" to the minute is plenty.
const seenSaveEvery = time.Minute

// TokenSeen is token-seen.json, keyed by token id (jti):
//
//	{"version":1,"seen":{"q3Jx…":{"staff":201,"issued":"…","expires":"…","last_seen":"…"}}}
//
// It keeps the claims too, so that `token list` can show (and `token revoke`
// accept) tokens issued before the registry existed.
type TokenSeen struct {
	Version int                  `json:"version"`
	Seen    map[string]SeenToken `json:"seen"`
}

// SeenToken is one token as the hub last saw it.
type SeenToken struct {
	Staff    int64     `json:"staff"`
	Issued   time.Time `json:"issued"`
	Expires  time.Time `json:"expires"`
	LastSeen time.Time `json:"last_seen"`
}

// Claims of the token, as the hub saw them.
func (s SeenToken) Claims(id string) Claims {
	return Claims{Staff: s.Staff, ID: id, Issued: s.Issued, Expires: s.Expires}
}

// ReadTokenSeen reads dir's token-seen.json; a missing file is empty.
func ReadTokenSeen(dir string) (TokenSeen, error) {
	path := filepath.Join(dir, TokenSeenFileName)
	ts := TokenSeen{Version: 1, Seen: map[string]SeenToken{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ts, nil
	}
	if err != nil {
		return ts, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &ts); err != nil || ts.Version != 1 {
		if err == nil {
			err = fmt.Errorf("version %d, want 1", ts.Version)
		}
		return TokenSeen{Version: 1, Seen: map[string]SeenToken{}}, fmt.Errorf("decoding %s: %w", path, err)
	}
	if ts.Seen == nil {
		ts.Seen = map[string]SeenToken{}
	}
	return ts, nil
}

// seenTokens is the hub's record of when it saw each token, kept in memory
// and saved now and then.
type seenTokens struct {
	dir     string // "" keeps it in memory only
	seen    map[string]SeenToken
	dirty   bool
	savedAt time.Time
}

func loadSeenTokens(dir string) (*seenTokens, error) {
	st := &seenTokens{dir: dir, seen: map[string]SeenToken{}}
	if dir == "" {
		return st, nil
	}
	ts, err := ReadTokenSeen(dir)
	st.seen = ts.Seen
	return st, err
}

// saw notes that the token with claims c was in use at now.
func (st *seenTokens) saw(c Claims, now time.Time) {
	st.seen[c.ID] = SeenToken{Staff: c.Staff, Issued: c.Issued, Expires: c.Expires, LastSeen: now.UTC().Truncate(time.Second)}
	st.dirty = true
}

// due reports whether a save is owed: something changed and the last save
// is a while ago (or final, at shutdown). It returns what to write; the
// write itself happens outside the caller's lock.
func (st *seenTokens) due(now time.Time, final bool) (TokenSeen, bool) {
	if st.dir == "" || !st.dirty || (!final && now.Sub(st.savedAt) < seenSaveEvery) {
		return TokenSeen{}, false
	}
	for id, s := range st.seen {
		if now.Sub(s.Expires) > expiredTokensKept {
			delete(st.seen, id)
		}
	}
	st.dirty, st.savedAt = false, now
	return TokenSeen{Version: 1, Seen: maps.Clone(st.seen)}, true
}

func writeTokenSeen(dir string, ts TokenSeen) error {
	data, err := json.MarshalIndent(ts, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the token last-seen times: %w", err)
	}
	return atomicfile.Write(filepath.Join(dir, TokenSeenFileName), append(data, '\n'), 0o600)
}
