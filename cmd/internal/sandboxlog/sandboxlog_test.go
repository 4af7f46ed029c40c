package sandboxlog

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/sandbox"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func write(s float64, status string, ttl int, code int) sandbox.Call {
	return sandbox.Call{At: at(s), Service: "chaport", Method: "POST", Path: "/api/v1/operators/op1/status",
		Body: `{"status":"` + status + `","ttl":` + strconv.Itoa(ttl) + `}`, Status: code}
}

func TestOnlineCoverage(t *testing.T) {
	calls := []sandbox.Call{
		write(0, "online", 10, 200),
		write(5, "online", 10, 200),
		write(9, "online", 10, 500), // failed: covers nothing
		write(17, "online", 10, 200),
		{At: at(18), Service: "chaport", Method: "GET", Path: "/api/v1/operators/op1", Status: 200},
		write(20, "offline", 0, 200),
		write(30, "online", 10, 200),
	}
	ws := SuccessfulWrites(calls)["op1"]
	if len(ws) != 5 {
		t.Fatalf("writes %v", ws)
	}
	got := Uncovered(OnlineSpans(ws), at(1), at(45))
	want := []Span{{at(15), at(17)}, {at(20), at(30)}, {at(40), at(45)}}
	if !slices.Equal(got, want) {
		t.Fatalf("uncovered %v, want %v", got, want)
	}
	if got := Uncovered(OnlineSpans(ws), at(2), at(14)); len(got) != 0 {
		t.Fatalf("uncovered %v within a chain of renewals", got)
	}
}

func TestPeakWindow(t *testing.T) {
	var calls []sandbox.Call
	for i := range 90 { // one read a second for 90 s, a write at 30.5 s
		calls = append(calls, sandbox.Call{At: at(float64(i)), Method: "GET"})
	}
	calls = append(calls, sandbox.Call{At: at(30.5), Method: "PUT"})
	if got := PeakWindow(calls, time.Minute); got != 62 {
		t.Fatalf("peak %d, want 60 reads and a write", got)
	}
}
