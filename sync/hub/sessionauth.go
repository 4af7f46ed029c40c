package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/omnitray/omnitray/internal/failstreak"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
)

// ErrTokenRevoked refuses a token an administrator revoked.
var ErrTokenRevoked = errors.New(feed.ReasonTokenRevoked)

// tokenCheckEvery is how often the hub re-reads the revocations and looks
// for live sessions whose token expired or was revoked: a revocation takes
// effect within two of these.
const tokenCheckEvery = 500 * time.Millisecond

// revocationList is where the hub learns which tokens are revoked. One hub
// reads tokens.json in its state directory; replicas will share a NATS KV
// bucket behind the same two methods.
type revocationList interface {
	// Refresh picks up changes since the last call and reports whether
	// there were any. On error the list read before stays in force.
	Refresh() (changed bool, err error)
	IsRevoked(Claims) bool
}

// noRevocations is the list of a hub without a state directory.
type noRevocations struct{}

func (noRevocations) Refresh() (bool, error) { return false, nil }
func (noRevocations) IsRevoked(Claims) bool  { return false }

// fileRevocations reads tokens.json again whenever the file changed.
type fileRevocations struct {
	dir   string
	mu    sync.RWMutex
	reg   TokenRegistry
	stamp os.FileInfo // of the file last read; nil while there is none
}

func (f *fileRevocations) Refresh() (bool, error) {
	fi, err := os.Stat(filepath.Join(f.dir, TokensFileName))
	if err != nil && !os.IsNotExist(err) {
		return false, fmt.Errorf("checking the token registry: %w", err)
	}
	f.mu.RLock()
	prev := f.stamp
	f.mu.RUnlock()
	switch {
	case fi == nil && prev == nil:
		return false, nil
	// The token commands replace the file by a rename, so a new file is a
	// new inode even when its size and modification time happen to match.
	case fi != nil && prev != nil && os.SameFile(fi, prev) && fi.ModTime().Equal(prev.ModTime()) && fi.Size() == prev.Size():
		return false, nil
	}
	reg, err := ReadTokenRegistry(f.dir)
	if err != nil {
		return false, err
	}
	f.mu.Lock()
	f.reg, f.stamp = reg, fi
	f.mu.Unlock()
	return true, nil
}

func (f *fileRevocations) IsRevoked(c Claims) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.reg.IsRevoked(c)
}

// tokenGuard admits handshakes and ends live sessions whose token expired
// or was revoked; it also keeps the tokens' last-seen times.
type tokenGuard struct {
	log   *slog.Logger
	clock clock.Clock
	revs  revocationList

	mu   sync.Mutex
	live map[*session]Claims
	seen *seenTokens
	// ended, if set, hears of each session closed for its token.
	ended func(s *session, code int)
}

func newTokenGuard(cfg Config) (*tokenGuard, error) {
	g := &tokenGuard{log: cfg.Logger, clock: cfg.Clock, revs: noRevocations{}, live: map[*session]Claims{}}
	if cfg.StateDir != "" {
		fr := &fileRevocations{dir: cfg.StateDir}
		// A damaged registry stops the hub: starting without it would let
		// every revoked token back in.
		if _, err := fr.Refresh(); err != nil {
			return nil, err
		}
		g.revs = fr
	}
	seen, err := loadSeenTokens(cfg.StateDir)
	if err != nil {
		cfg.Logger.Warn("token last-seen times not restored; starting afresh", "err", err)
	}
	g.seen = seen
	return g, nil
}

// admit checks a handshake's token: signature, expiry and revocation. A
// refusal it can explain gets the feed's close code in a header, so that the
// agent tells the employee what to do; the caller writes the 401.
func (h *Hub) admit(w http.ResponseWriter, r *http.Request) (Claims, error) {
	now := h.clock.Now()
	c, err := VerifyClaims(h.cfg.Secret, feed.BearerToken(r), now)
	switch {
	case errors.Is(err, ErrTokenExpired):
		w.Header().Set(feed.RefusalHeader, strconv.Itoa(feed.CloseTokenExpired))
	case err == nil && h.tokens.revs.IsRevoked(c):
		w.Header().Set(feed.RefusalHeader, strconv.Itoa(feed.CloseTokenRevoked))
		err = ErrTokenRevoked
	case err == nil:
		h.tokens.mu.Lock()
		h.tokens.seen.saw(c, now)
		h.tokens.mu.Unlock()
	}
	return c, err
}

// track watches a live session's token until the returned func is called.
func (g *tokenGuard) track(s *session) (untrack func()) {
	g.mu.Lock()
	g.live[s] = s.token
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		delete(g.live, s)
		g.mu.Unlock()
	}
}

// run checks tokens every tokenCheckEvery until ctx ends, then saves the
// last-seen times. The cadence is real time while the comparisons use the
// hub's clock: tests that drive a fake clock tell that the hub is idle by
// counting its pending timers, and a ticker of this kind would never let
// them see it idle.
func (g *tokenGuard) run(ctx context.Context) {
	tick := time.NewTicker(tokenCheckEvery)
	defer tick.Stop()
	var reads failstreak.Streak
	for {
		select {
		case <-ctx.Done():
			g.saveSeen(g.clock.Now(), true)
			return
		case <-tick.C:
		}
		changed, err := g.revs.Refresh()
		reads.Note(g.log, err, "reading the token revocations failed; the ones read before stay in force",
			"reading the token revocations works again")
		if changed {
			g.log.Info("token revocations reloaded")
		}
		now := g.clock.Now()
		g.enforce(now)
		g.saveSeen(now, false)
	}
}

// enforce closes the live sessions whose token expired or was revoked, and
// notes the others as seen.
func (g *tokenGuard) enforce(now time.Time) {
	type ending struct {
		s    *session
		c    Claims
		code int
	}
	var ends []ending
	g.mu.Lock()
	for s, c := range g.live {
		switch {
		case !now.Before(c.Expires):
			ends = append(ends, ending{s, c, feed.CloseTokenExpired})
		case g.revs.IsRevoked(c):
			ends = append(ends, ending{s, c, feed.CloseTokenRevoked})
		default:
			g.seen.saw(c, now)
			continue
		}
		delete(g.live, s) // closed once; its handler untracks it again, harmlessly
	}
	g.mu.Unlock()
	for _, e := range ends {
		reason := feed.ReasonTokenRevoked
		if e.code == feed.CloseTokenExpired {
			reason = feed.ReasonTokenExpired
		}
		// The token id is what `token list` shows; the token itself is
		// never logged.
		g.log.Info("closing an agent session", "staff", e.c.Staff, "token_id", e.c.ID, "reason", reason)
		e.s.conn.CloseWith(e.code, reason)
		if g.ended != nil {
			g.ended(e.s, e.code)
		}
	}
}

// saveSeen writes the last-seen times when a save is due; final is the
// shutdown's save.
func (g *tokenGuard) saveSeen(now time.Time, final bool) {
	g.mu.Lock()
	ts, due := g.seen.due(now, final)
	g.mu.Unlock()
	if !due {
		return
	}
	if err := writeTokenSeen(g.seen.dir, ts); err != nil {
		g.log.Warn("saving the token last-seen times failed", "err", err)
	}
}
