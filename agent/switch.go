package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/omnitray/omnitray/sync/feed"
)

// A status switch the employee asks for (from the tray or `omnitray
// switch`) is done only when Omnidesk shows the new status: the hub confirms
// it and answers not_applied when Omnidesk took the write but ignored it.
// This file has what both front ends share: finding a status by what a
// person typed, the control-socket request the CLI sends to the running
// agent, and what went wrong, for the notification the tray shows when a
// switch did not happen (agent/notices).

// StatusError says why a typed status names no switchable status. The CLI
// exits 2 for it (bad input) and prints it on one line.
type StatusError struct {
	Arg    string
	Reason string
	// Valid lists the switchable statuses as "Name (id)", in catalogue order.
	Valid []string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s; switchable statuses: %s (a name, any case, or its id)", e.Reason, strings.Join(e.Valid, ", "))
}

// ResolveStatus finds the status arg names among statuses: an id, or a name
// compared case-insensitively (Unicode case folding, so «обед» is «Обед»)
// with surrounding and repeated spaces ignored. Only active statuses can be
// switched to; an inactive one, a name two statuses share, and a name no
// status has are *StatusError values listing the switchable ones.
func ResolveStatus(statuses []feed.Status, arg string) (feed.Status, error) {
	want := strings.Join(strings.Fields(arg), " ")
	var valid []string
	for _, s := range statuses {
		if s.Active {
			valid = append(valid, fmt.Sprintf("%s (%d)", s.Name, s.ID))
		}
	}
	fail := func(format string, a ...any) (feed.Status, error) {
		return feed.Status{}, &StatusError{Arg: arg, Reason: fmt.Sprintf(format, a...), Valid: valid}
	}
	if want == "" {
		return fail("no status given")
	}
	var byName []feed.Status
	for _, s := range statuses {
		if strings.EqualFold(strings.Join(strings.Fields(s.Name), " "), want) {
			byName = append(byName, s)
		}
	}
	// An id wins over a name that happens to be digits: ids are what
	// scripts pass, and an id is never ambiguous.
	if id, err := strconv.ParseInt(want, 10, 64); err == nil && id > 0 {
		for _, s := range statuses {
			if s.ID == id {
				byName = []feed.Status{s}
				break
			}
		}
	}
	var active []feed.Status
	for _, s := range byName {
		if s.Active {
			active = append(active, s)
		}
	}
	switch {
	case len(active) == 1:
		return active[0], nil
	case len(active) > 1:
		ids := make([]string, len(active))
		for i, s := range active {
			ids[i] = strconv.FormatInt(s.ID, 10)
		}
		return fail("%q names %d statuses (ids %s); give the id", want, len(active), strings.Join(ids, ", "))
	case len(byName) > 0:
		return fail("«%s» is not active in Omnidesk, so it cannot be switched to", byName[0].Name)
	default:
		return fail("no Omnidesk status is called %q", want)
	}
}

// Control-socket answers to a switch that did not happen, beside the hub's
// feed codes (refused, not_applied, unavailable, rate_limited…).
const (
	CodeNotConnected = "not_connected" // the agent has no live connection to the hub
	CodeNoAnswer     = "no_answer"     // the hub did not answer in time
)

// SwitchResult is the control socket's answer to POST /switch.
type SwitchResult struct {
	StatusID int64  `json:"status_id,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
}

// SwitchFailed is a switch that did not happen, as the CLI reports it.
type SwitchFailed struct{ Code, Message string }

func (e *SwitchFailed) Error() string { return e.Message }

// serveSwitch is the control socket's POST /switch {"status_id": N}: it asks
// the hub and answers once Omnidesk shows the status, or why not.
func (a *Agent) serveSwitch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		StatusID int64 `json:"status_id"`
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.StatusID <= 0 {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(SwitchResult{Code: feed.CodeBadRequest, Message: `body must be {"status_id": N} with N > 0`})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), switchTimeout)
	defer cancel()
	res := SwitchResult{StatusID: req.StatusID}
	code := http.StatusOK
	if err := a.SwitchStatus(ctx, req.StatusID); err != nil {
		res = SwitchFailure(err)
		code = http.StatusBadGateway
		a.log.Warn("Omnidesk status switch did not happen", "status", req.StatusID, "reason", res.Message)
	} else {
		a.log.Info("Omnidesk status switched", "status", req.StatusID)
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(res)
}

// SwitchFailure turns SwitchStatus's error into a code and one line.
func SwitchFailure(err error) SwitchResult {
	var re *feed.RemoteError
	switch {
	case errors.As(err, &re):
		return SwitchResult{Code: re.Code, Message: re.Message}
	case errors.Is(err, feed.ErrNotConnected):
		return SwitchResult{Code: CodeNotConnected, Message: "the agent is not connected to the hub; see 'omnitray status'"}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return SwitchResult{Code: CodeNoAnswer, Message: "no answer from the hub in time; the switch may still happen, see 'omnitray status'"}
	default:
		return SwitchResult{Code: feed.CodeInternal, Message: err.Error()}
	}
}

// RequestSwitch asks the agent on the control socket to switch to statusID
// and waits, until ctx ends, for Omnidesk to show it. A switch that did not
// happen is a *SwitchFailed.
func RequestSwitch(ctx context.Context, path string, statusID int64) error {
	body, _ := json.Marshal(map[string]int64{"status_id": statusID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://agent/switch", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the switch request: %w", err)
	}
	hc := controlClient(path)
	hc.Timeout = 0 // a switch waits for Omnidesk's budget; ctx bounds it
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &SwitchFailed{Code: CodeNoAnswer, Message: "no answer from the agent in time; the switch may still happen, see 'omnitray status'"}
		}
		return fmt.Errorf("no agent is running (nothing answers on %s); start one with 'omnitray run'", path)
	}
	defer resp.Body.Close()
	var res SwitchResult
	if resp.StatusCode == http.StatusNotFound {
		return errors.New("the running agent is too old for 'omnitray switch'; restart it")
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fmt.Errorf("reading the agent's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || res.Code != "" {
		return &SwitchFailed{Code: res.Code, Message: res.Message}
	}
	return nil
}

// switchTimeout bounds a switch asked on the control socket when the
// caller set no deadline: the hub may wait for Omnidesk's budget, but not
// for ever.
const switchTimeout = 2 * time.Minute
