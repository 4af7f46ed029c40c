package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/hub"
	"github.com/omnitray/omnitray/sync/hub/hubtest"
	"github.com/omnitray/omnitray/sync/omnidesk"
	"github.com/omnitray/omnitray/sync/sandbox"
)

// A status switch is done only when Omnidesk shows it. Against each answer
// the fake Omnidesk can give, the agent gets an ack carrying the new status
// (already pushed to it), not_applied, or refused; and the hub reads the
// staff member back only when the write's reply lacks the status. (Before
// the fix, a silently ignored switch was acked.)
func TestStatusSwitchIsConfirmed(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode sandbox.StatusWriteMode
		// recordInReply makes the PUT's reply carry the status, as the live
		// service might: then no read-back is needed.
		recordInReply bool
		code          string // "" for an ack
		readBack      bool
	}{
		{"accept", sandbox.StatusWriteAccept, false, "", true},
		{"ignore", sandbox.StatusWriteIgnore, false, feed.CodeNotApplied, true},
		{"refuse", sandbox.StatusWriteRefuse, false, feed.CodeRefused, false},
		{"accept, record in reply", sandbox.StatusWriteAccept, true, "", false},
		{"ignore, record in reply", sandbox.StatusWriteIgnore, true, feed.CodeNotApplied, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startSwitchStack(t, tc.mode, tc.recordInReply)
			anna := connect(t, s, sandbox.SeedStaffAnna)
			if anna.status != sandbox.StatusOffline {
				t.Fatalf("Anna starts in status %d, want Offline", anna.status)
			}
			seq := lastSeq(s.sb)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			raw, err := anna.c.Request(ctx, feed.TypeSwitchStatus, feed.SwitchStatus{StatusID: sandbox.StatusLunch})
			calls := s.sb.Calls("omnidesk", seq)
			if tc.code == "" {
				var ack feed.StatusChange
				if err != nil || json.Unmarshal(raw, &ack) != nil || ack.StatusID != sandbox.StatusLunch || ack.ObservedAt.IsZero() {
					t.Fatalf("switch: ack %s, %v; want an ack with status %d", raw, err, sandbox.StatusLunch)
				}
				// The agent has the status by the time it has the ack: the
				// hub sends it first rather than leave it to the next poll.
				anna.drainStatus()
				if anna.status != sandbox.StatusLunch {
					t.Errorf("after the ack the agent shows status %d, want %d", anna.status, sandbox.StatusLunch)
				}
			} else {
				var re *feed.RemoteError
				if !errors.As(err, &re) || re.Code != tc.code {
					t.Fatalf("switch: %v; want %s", err, tc.code)
				}
				if m := re.Message; !strings.Contains(m, "Omnidesk") || !strings.Contains(m, "«Обед»") || strings.ContainsAny(m, "\r\n") {
					t.Errorf("message %q: want one line naming Omnidesk and «Обед»", m)
				}
				if tc.code == feed.CodeNotApplied && !strings.Contains(re.Message, "it still shows «Офлайн»") {
					t.Errorf("message %q does not say what Omnidesk still shows", re.Message)
				}
				if got := staffStatus(s.sb, sandbox.SeedStaffAnna); got != sandbox.StatusOffline {
					t.Errorf("Omnidesk shows %d after a %s switch", got, tc.code)
				}
			}
			put, back := -1, -1
			for i, c := range calls {
				switch {
				case c.Method == "PUT" && c.Path == "/api/staff/201.json":
					put = i
				case c.Method == "GET" && c.Path == "/api/staff/201.json":
					back = i
				}
			}
			if put < 0 {
				t.Fatalf("no PUT /api/staff/201.json in %+v", calls)
			}
			if gotBack := back > put; gotBack != tc.readBack {
				t.Errorf("read-back after the PUT: %v, want %v (calls %+v)", gotBack, tc.readBack, calls)
			}
		})
	}
}

// startSwitchStack is a sandbox answering status writes as mode says and a
// hub polling it often. With recordInReply the hub talks to Omnidesk
// through a proxy that adds the status the sandbox holds to the PUT's
// reply, as a live service that returns the whole record would.
func startSwitchStack(t *testing.T, mode sandbox.StatusWriteMode, recordInReply bool) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sb := hubtest.StartSandbox(t, ctx, sandbox.Config{Omnidesk: sandbox.OmnideskSettings{BudgetPerMinute: 6000, StatusWrite: mode}})
	h := hubtest.Serve(t, ctx, hubtest.New(t, sb, `{"min_poll_interval": "100ms", "chats": {"enabled": false}}`,
		func(c *hub.Config) {
			c.Clock = clock.Real{}
			if !recordInReply {
				return
			}
			proxy := recordProxy(t, sb)
			oc, err := omnidesk.New(omnidesk.Config{BaseURL: proxy, Email: sandbox.DefaultOmnideskEmail,
				APIKey: sandbox.DefaultOmnideskAPIKey})
			if err != nil {
				t.Fatal(err)
			}
			c.Omnidesk = oc
		}))
	h.WaitReady(t, 10*time.Second)
	return &stack{sb: sb, hub: h.Hub, hubURL: h.URL}
}

func recordProxy(t *testing.T, sb *sandbox.Sandbox) string {
	target, _ := url.Parse(sb.OmnideskURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodPut || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var reply map[string]map[string]any
		if err := json.Unmarshal(body, &reply); err != nil {
			return err
		}
		id, _ := reply["staff"]["staff_id"].(float64)
		reply["staff"]["status_id"] = staffStatus(sb, int64(id))
		body, _ = json.Marshal(reply)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

func staffStatus(sb *sandbox.Sandbox, id int64) int64 {
	for _, st := range sb.State().Staff {
		if st.ID == id {
			return st.StatusID
		}
	}
	return 0
}

// drainStatus takes the status frames already received, without waiting.
func (a *agentConn) drainStatus() {
	for {
		select {
		case ev := <-a.events:
			if ev.Kind == feed.Message && ev.Env.Type == feed.TypeStatus {
				ch, _ := feed.DecodeData[feed.StatusChange](ev.Env)
				a.status = ch.StatusID
			}
		default:
			return
		}
	}
}
