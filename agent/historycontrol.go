package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/omnitray/omnitray/sync/history"
)

// serveHistory answers `omnitray history` on the control socket with the
// employee's transitions since ?since= (RFC 3339), read from the hub.
func (a *Agent) serveHistory(w http.ResponseWriter, r *http.Request) {
	since, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
	if err != nil {
		http.Error(w, "since: want an RFC 3339 time", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	entries, err := a.History(ctx, since)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if entries == nil {
		entries = []history.Entry{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(entries)
}

// ReadHistory asks the agent on the control socket for the employee's
// transitions since since, oldest first.
func ReadHistory(ctx context.Context, path string, since time.Time) ([]history.Entry, error) {
	u := "http://agent/history?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339Nano))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building the history request: %w", err)
	}
	hc := controlClient(path)
	hc.Timeout = 35 * time.Second
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("no agent is running (nothing answers on %s); start one with 'omnitray run'", path)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, errors.New("the running agent is too old for 'omnitray history'; restart it")
	default:
		var msg [200]byte
		n, _ := resp.Body.Read(msg[:])
		return nil, fmt.Errorf("the agent could not read the history: %s", OneLine(string(msg[:n]), 160))
	}
	var entries []history.Entry
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil {
		return nil, fmt.Errorf("reading the agent's answer: %w", err)
	}
	return entries, nil
}
