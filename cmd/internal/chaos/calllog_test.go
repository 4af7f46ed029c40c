package chaos

import (
	"fmt"
	"time"

	"github.com/omnitray/omnitray/cmd/internal/sandboxlog"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// ── the sandbox's call log ──

// callLog copies the sandbox's bounded call log as it grows.
type callLog struct{ *sandboxlog.Tape }

func newCallLog(sb *sandbox.Sandbox) *callLog {
	return &callLog{sandboxlog.NewTape(func(since int) []sandbox.Call { return sb.Calls("", since) })}
}

// history describes the last n status write attempts for an operator.
func (l *callLog) history(op string, n int) []string {
	out := l.historyIn(op, time.Time{}, time.Now().Add(time.Hour))
	return out[max(0, len(out)-n):]
}

// historyIn describes the status write attempts for an operator in [from, to].
func (l *callLog) historyIn(op string, from, to time.Time) []string {
	out := []string{}
	for _, c := range l.All() {
		if o, ok := sandboxlog.StatusWritePath(c); ok && o == op && !c.At.Before(from) && !c.At.After(to) {
			s := fmt.Sprintf("%s %s → %d", c.At.Format("15:04:05.000"), c.Body, c.Status)
			if c.Fault != "" {
				s += " (injected " + c.Fault + ")"
			}
			out = append(out, s)
		}
	}
	return out
}

// lastWrites returns, per operator, the last successful status write and
// the time of the last successful online write.
func (l *callLog) lastWrites() (map[string]sandboxlog.Write, map[string]time.Time) {
	last := map[string]sandboxlog.Write{}
	online := map[string]time.Time{}
	for _, c := range l.All() {
		w, op, ok := sandboxlog.SuccessfulWrite(c)
		if !ok {
			continue
		}
		if w.At.After(last[op].At) || last[op].Status == "" {
			last[op] = w
		}
		if w.Status == "online" && w.At.After(online[op]) {
			online[op] = w.At
		}
	}
	return last, online
}
