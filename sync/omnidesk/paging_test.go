package omnidesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/omnitray/omnitray/sync/vendorapi"
)

// pagedServer serves total staff, honouring page and limit (capped at 100)
// unless ignorePaging is set, in which case it always serves page 1.
func pagedServer(t *testing.T, total int, ignorePaging bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if page < 1 || ignorePaging {
			page = 1
		}
		if limit < 1 || limit > 100 {
			limit = 100
		}
		body := map[string]any{"total_count": total}
		for i := 0; i < limit; i++ {
			n := (page-1)*limit + i
			if n >= total {
				break
			}
			body[strconv.Itoa(i)] = map[string]any{"staff": map[string]any{
				"staff_id": 1000 + n, "staff_email": fmt.Sprintf("s%d@x.ru", n), "status_id": 1 + n%3,
				"created_at": "Mon, 05 May 2014 00:15:17 +0300",
			}}
		}
		w.Header()["rate_limit_per_minute"] = []string{"750"}
		w.Header()["api_calls_left"] = []string{strconv.Itoa(750 - int(calls.Load()))}
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestAllStaffPages(t *testing.T) {
	srv, calls := pagedServer(t, 250, false)
	c := newClient(t, srv.URL, nil)
	all, err := c.AllStaff(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 250 {
		t.Fatalf("got %d staff, want 250", len(all))
	}
	for i, s := range all {
		if s.ID != int64(1000+i) {
			t.Fatalf("all[%d].ID = %d, want %d", i, s.ID, 1000+i)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if lim := c.Limits(); lim.PerMinute != 750 || lim.CallsLeft != 747 {
		t.Errorf("Limits() = %+v, want the last page's figures", lim)
	}
}

func TestAllStaffExactPages(t *testing.T) {
	// total_count stops paging without asking for an empty page 3.
	srv, calls := pagedServer(t, 200, false)
	all, err := newClient(t, srv.URL, nil).AllStaff(context.Background())
	if err != nil || len(all) != 200 || calls.Load() != 2 {
		t.Fatalf("got %d staff in %d calls, err %v; want 200 in 2", len(all), calls.Load(), err)
	}
}

func TestAllStaffEmpty(t *testing.T) {
	srv, calls := pagedServer(t, 0, false)
	all, err := newClient(t, srv.URL, nil).AllStaff(context.Background())
	if err != nil || len(all) != 0 || calls.Load() != 1 {
		t.Fatalf("got %v in %d calls, err %v", all, calls.Load(), err)
	}
}

func TestAllStaffIgnoredPaging(t *testing.T) {
	srv, calls := pagedServer(t, 250, true)
	_, err := newClient(t, srv.URL, nil).AllStaff(context.Background())
	if !errors.Is(err, vendorapi.ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}
