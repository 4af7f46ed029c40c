package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/omnitray/omnitray/internal/atomicfile"
)

// The pacer's memory across a graceful restart. A hub that starts afresh
// must assume the smallest plan (assumedLimit) until a response states the
// budget, so when its first Omnidesk call fails it waits a full slow slot
// (12 s at the default share) before the next try, and agents wait for
// their first status. A hub that stopped cleanly leaves the budget it had
// learned and its last minute of spending in a file; the next one starts
// from there.
//
// The file is removed as soon as it is read: if the new hub then dies
// without saving, its successor must not trust a window that misses the
// calls made in between.

const budgetStateVersion = 1

// maxBudgetAge bounds how old a saved budget may be and still be believed:
// plans change rarely, and the first response corrects it anyway.
const maxBudgetAge = 24 * time.Hour

type budgetState struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	// Limit is rate_limit_per_minute as Omnidesk last stated it.
	Limit    int          `json:"rate_limit_per_minute"`
	NotAfter time.Time    `json:"not_after,omitzero"` // a retry_after still running
	Spent    []savedSpend `json:"spent"`              // the last minute, oldest first, by the second
	// Last and LastCost are the last call, which spaces the next one.
	Last     time.Time `json:"last,omitzero"`
	LastCost int       `json:"last_cost,omitempty"`
}

type savedSpend struct {
	At   time.Time `json:"at"`
	Cost int       `json:"cost"`
}

// export is what the pacer knows, for the file; nothing before the limit
// has been learned.
func (p *pacer) export() (budgetState, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.learned {
		return budgetState{}, false
	}
	st := budgetState{Version: budgetStateVersion, SavedAt: p.clock.Now(), Limit: p.limit, NotAfter: p.notAfter,
		Last: p.last, LastCost: p.lastCost}
	// The minute's calls are summed by the second, each sum stamped with
	// its second's latest call (so it stays in the window no shorter than
	// any of them): the state stays small, at most 61 entries, however
	// many calls a large account's budget allows. A replica leader shares
	// it before every call (replication.go).
	for _, s := range p.spent {
		if n := len(st.Spent); n > 0 && st.Spent[n-1].At.Truncate(time.Second).Equal(s.at.Truncate(time.Second)) {
			st.Spent[n-1].At, st.Spent[n-1].Cost = s.at, st.Spent[n-1].Cost+s.cost
			continue
		}
		st.Spent = append(st.Spent, savedSpend{s.at, s.cost})
	}
	return st, true
}

// restore takes a saved state in, if it is believable: its own version,
// not from the future, not older than maxBudgetAge. Spending still inside
// the minute counts against the window; the rest has aged out.
func (p *pacer) restore(st budgetState) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	switch {
	case st.Version != budgetStateVersion:
		return fmt.Errorf("version %d, want %d", st.Version, budgetStateVersion)
	case st.Limit < 1 || st.Limit > 1_000_000:
		return fmt.Errorf("rate_limit_per_minute %d out of range", st.Limit)
	case st.SavedAt.After(now.Add(time.Minute)):
		return fmt.Errorf("saved at %v, in the future", st.SavedAt)
	case now.Sub(st.SavedAt) > maxBudgetAge:
		return fmt.Errorf("saved at %v, too long ago", st.SavedAt)
	}
	var spent []spend
	used := 0
	for _, s := range st.Spent {
		if s.Cost < 1 || s.Cost > 2*st.Limit || s.At.After(st.SavedAt) || now.Sub(s.At) >= time.Minute {
			continue
		}
		spent = append(spent, spend{s.At, s.Cost})
		used += s.Cost
	}
	slices.SortFunc(spent, func(a, b spend) int { return a.at.Compare(b.at) })
	p.limit, p.learned = st.Limit, true
	p.spent, p.used = spent, used
	switch n := len(spent); {
	case !st.Last.IsZero() && !st.Last.After(st.SavedAt) && st.LastCost >= 1 && st.LastCost <= 2:
		p.last, p.lastCost = st.Last, st.LastCost
	case n > 0: // a file from before Last was saved: one call per entry
		p.last, p.lastCost = spent[n-1].at, min(spent[n-1].cost, 2)
	}
	// A retry_after still running is obeyed, but never for longer than
	// one may last: a file with a far not_after (a wrong clock, an edit)
	// must not stop the hub polling for good.
	if st.NotAfter.After(now) {
		p.notAfter = minTime(st.NotAfter, now.Add(p.maxHold))
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// takeBudgetState reads the saved state and removes the file. A missing
// file is a first start (or the last hub did not stop cleanly).
func takeBudgetState(path string) (budgetState, bool, error) {
	var st budgetState
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("reading the saved Omnidesk budget: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return st, false, fmt.Errorf("removing the saved Omnidesk budget once read: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, false, fmt.Errorf("parsing the saved Omnidesk budget %s: %w", path, err)
	}
	return st, true, nil
}

func saveBudgetState(path string, st budgetState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding the Omnidesk budget: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("saving the Omnidesk budget: %w", err)
	}
	return nil
}

// loadBudget is Run's start: the saved budget into the pacer, or a warning.
func (h *Hub) loadBudget() {
	path := h.cfg.BudgetFile
	if path == "" {
		return
	}
	st, ok, err := takeBudgetState(path)
	if err == nil && ok {
		err = h.pace.restore(st)
	}
	switch {
	case err != nil:
		h.log.Warn("ignoring the saved Omnidesk budget; assuming the smallest plan until Omnidesk states it", "err", err)
	case ok:
		h.log.Info("Omnidesk budget restored from the last run", "rate_limit_per_minute", st.Limit,
			"spacing", h.pace.interval())
		if until := h.pace.holdUntil(); until.After(h.clock.Now()) {
			h.log.Warn("waiting on Omnidesk's retry_after from the last run before the first call",
				"until", until.UTC().Format(time.RFC3339), "saved_not_after", st.NotAfter.UTC().Format(time.RFC3339))
		}
	}
}

// saveBudget is Run's end.
func (h *Hub) saveBudget() {
	if h.cfg.BudgetFile == "" {
		return
	}
	st, ok := h.pace.export()
	if !ok {
		return
	}
	if err := saveBudgetState(h.cfg.BudgetFile, st); err != nil {
		h.log.Warn("could not save the Omnidesk budget for the next start", "err", err)
	}
}
