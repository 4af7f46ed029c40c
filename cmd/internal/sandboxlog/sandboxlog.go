// Package sandboxlog reads the sandbox's call log (sync/sandbox.Call) the
// way the end-to-end and chaos tests judge it: which calls are Chaport
// status writes, how long an operator's online leases covered it, and how
// many Omnidesk units were spent in any window. It holds no state and is
// linked into no product binary.
package sandboxlog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omnitray/omnitray/sync/sandbox"
)

// StatusWritePath returns the operator of a Chaport status write (POST
// /api/v1/operators/{id}/status), whatever its outcome.
func StatusWritePath(c sandbox.Call) (string, bool) {
	if c.Service != "chaport" || c.Method != http.MethodPost {
		return "", false
	}
	rest, ok := strings.CutPrefix(c.Path, "/api/v1/operators/")
	if !ok {
		return "", false
	}
	op, ok := strings.CutSuffix(rest, "/status")
	return op, ok && op != "" && !strings.Contains(op, "/")
}

// Write is one successful Chaport status write.
type Write struct {
	At     time.Time
	Status string
	TTL    int // seconds
}

// Until is when the write's lease ends in Chaport unless renewed.
func (w Write) Until() time.Time { return w.At.Add(time.Duration(w.TTL) * time.Second) }

func (w Write) String() string {
	if w.Status == "" {
		return "none"
	}
	return fmt.Sprintf("%s ttl %ds at %s", w.Status, w.TTL, w.At.Format("15:04:05.000"))
}

// SuccessfulWrite decodes a Chaport status write the fake carried out, and
// names its operator.
func SuccessfulWrite(c sandbox.Call) (Write, string, bool) {
	op, ok := StatusWritePath(c)
	if !ok || c.Status != http.StatusOK {
		return Write{}, "", false
	}
	var body struct {
		Status string `json:"status"`
		TTL    int    `json:"ttl"`
	}
	if err := json.Unmarshal([]byte(c.Body), &body); err != nil {
		return Write{}, "", false
	}
	return Write{At: c.At, Status: body.Status, TTL: body.TTL}, op, true
}

// SuccessfulWrites groups the successful status writes in calls by
// operator, oldest first.
func SuccessfulWrites(calls []sandbox.Call) map[string][]Write {
	out := map[string][]Write{}
	for _, c := range calls {
		if w, op, ok := SuccessfulWrite(c); ok {
			out[op] = append(out[op], w)
		}
	}
	for _, ws := range out {
		slices.SortStableFunc(ws, func(a, b Write) int { return a.At.Compare(b.At) })
	}
	return out
}

// Span is a stretch of time, e.g. one in which an operator was online.
type Span struct{ From, To time.Time }

func (s Span) String() string {
	return fmt.Sprintf("%s–%s (%v)", s.From.Format("15:04:05.000"), s.To.Format("15:04:05.000"),
		s.To.Sub(s.From).Round(time.Millisecond))
}

// OnlineSpans replays an operator's successful writes, oldest first: an
// online write holds until its lease ends or the next write replaces it.
func OnlineSpans(writes []Write) []Span {
	var out []Span
	for i, w := range writes {
		if w.Status != "online" {
			continue
		}
		to := w.Until()
		if i+1 < len(writes) && writes[i+1].At.Before(to) {
			to = writes[i+1].At
		}
		out = append(out, Span{w.At, to})
	}
	return out
}

// Uncovered returns the parts of [from, to] that no span covers: for an
// operator's OnlineSpans, when it was not online, its lease lapsed or an
// offline was written.
func Uncovered(spans []Span, from, to time.Time) []Span {
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b Span) int { return a.From.Compare(b.From) })
	var out []Span
	at := from // covered up to here
	for _, s := range sorted {
		if !s.To.After(at) {
			continue
		}
		if !s.From.Before(to) {
			break
		}
		if s.From.After(at) {
			out = append(out, Span{at, s.From})
		}
		at = s.To
	}
	if at.Before(to) {
		out = append(out, Span{at, to})
	}
	return out
}

// UnitCost is what an Omnidesk call would cost from the budget had it been
// charged: reads 1, writes 2.
func UnitCost(c sandbox.Call) int {
	if c.Method == http.MethodGet || c.Method == http.MethodHead {
		return 1
	}
	return 2
}

// PeakWindow is the most units attempted within any window of length w.
func PeakWindow(calls []sandbox.Call, w time.Duration) int {
	sorted := slices.Clone(calls)
	slices.SortFunc(sorted, func(a, b sandbox.Call) int { return a.At.Compare(b.At) })
	peak, sum, lo := 0, 0, 0
	for _, c := range sorted {
		sum += UnitCost(c)
		for c.At.Sub(sorted[lo].At) >= w {
			sum -= UnitCost(sorted[lo])
			lo++
		}
		peak = max(peak, sum)
	}
	return peak
}

// Tape copies a sandbox's call log as it grows. The sandbox keeps only the
// newest calls (20,000), so a test reads it often enough to miss none;
// Gap says if one was missed all the same.
type Tape struct {
	fetch func(since int) []sandbox.Call

	mu    sync.Mutex
	calls []sandbox.Call
	last  int
	gap   bool
}

// NewTape copies what fetch returns: the calls with Seq above since, of
// every service, from a sandbox in this process (Sandbox.Calls) or through
// its control port.
func NewTape(fetch func(since int) []sandbox.Call) *Tape { return &Tape{fetch: fetch} }

// Pull copies the calls logged since the last Pull.
func (tp *Tape) Pull() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, c := range tp.fetch(tp.last) {
		if c.Seq != tp.last+1 {
			tp.gap = true
		}
		tp.calls = append(tp.calls, c)
		tp.last = c.Seq
	}
}

// All returns a copy of every call pulled so far.
func (tp *Tape) All() []sandbox.Call {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return slices.Clone(tp.calls)
}

// Gap reports whether the sandbox dropped calls before they were pulled.
func (tp *Tape) Gap() bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.gap
}
