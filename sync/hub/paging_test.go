package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
)

// staffServer is an Omnidesk staff list of n people, 100 a page, whose
// replies carry no total_count (some lists use count, or none).
func staffServer(t *testing.T, n int, ignorePage bool) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/staff.json" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if ignorePage {
			page = 1
		}
		out := map[string]any{}
		for i := (page - 1) * 100; i < min(page*100, n); i++ {
			out[strconv.Itoa(i-(page-1)*100)] = map[string]any{"staff": map[string]any{
				"staff_id": 1000 + i, "staff_email": fmt.Sprintf("s%d@acme.test", i), "staff_full_name": "S",
				"active": true, "status": "online", "status_id": 1,
				"created_at": "Mon, 05 May 2014 00:15:17 +0300", "updated_at": "Mon, 05 May 2014 00:15:17 +0300"}}
		}
		w.Header()["rate_limit_per_minute"] = []string{"6000"}
		w.Header()["api_calls_left"] = []string{"5999"}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func pagingHub(t *testing.T, url string) *hub.Hub {
	t.Helper()
	h, err := hubtest.Build(hub.Vendors{OmnideskURL: url, OmnideskEmail: "api@acme.test", OmnideskAPIKey: "k",
		ChaportURL: "http://127.0.0.1:1", ChaportToken: "t"}, `{"min_poll_interval": "1s", "budget_share": 1}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A server that ignores "page" is caught on page 2, not read 500 times.
func TestPollStaffStopsOnARepeatedPage(t *testing.T) {
	srv, calls := staffServer(t, 300, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hub.PollStaff(ctx, pagingHub(t, srv.URL)); err == nil || calls.Load() != 2 {
		t.Fatalf("pollStaff = %v after %d calls, want a 'repeated page' error after 2", err, calls.Load())
	}
}

// A staff list without total_count is read on until a short or empty page,
// as omnidesk.AllStaff does, not stopped after page 1 (issue 11 §6).
func TestPollStaffPagesWithoutTotalCount(t *testing.T) {
	for _, n := range []int{150, 200} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			srv, calls := staffServer(t, n, false)
			h := pagingHub(t, srv.URL)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := hub.PollStaff(ctx, h); err != nil {
				t.Fatal(err)
			}
			if !hub.KnowsStaff(h, int64(1000+n-1)) {
				t.Fatalf("staff %d (the last page) unknown after a poll of %d calls", 1000+n-1, calls.Load())
			}
			if want := int32(n/100 + 1); calls.Load() != want {
				t.Fatalf("%d calls for %d staff, want %d (up to a short or empty page)", calls.Load(), n, want)
			}
		})
	}
}
