package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	serviceChaport  = "chaport"
	serviceOmnidesk = "omnidesk"
)

// Fault kinds that can be injected.
const (
	FaultServerError = "500"
	FaultRateLimit   = "429"
	FaultReset       = "reset"
)

// Faults configures injected failures for one API.
type Faults struct {
	// LatencyMinMS/LatencyMaxMS delay every call by a uniform random time.
	LatencyMinMS int `json:"latency_min_ms"`
	LatencyMaxMS int `json:"latency_max_ms"`
	// Rate is the share of calls (0..1) that fail with one of Kinds.
	Rate  float64  `json:"rate"`
	Kinds []string `json:"kinds"`
	// RetryAfterSeconds goes into the 429's wait header (default 2).
	RetryAfterSeconds int `json:"retry_after_seconds"`
	// Next fails the next calls in this order, before Rate applies; tests use
	// it for faults at an exact point.
	Next []string `json:"next"`
}

func (f Faults) validate() error {
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("rate %v is not between 0 and 1", f.Rate)
	}
	if f.LatencyMinMS < 0 || f.LatencyMaxMS < 0 || f.LatencyMaxMS > 60_000 {
		return fmt.Errorf("latency must be between 0 and 60000 ms")
	}
	for _, k := range append(append([]string{}, f.Kinds...), f.Next...) {
		switch k {
		case FaultServerError, FaultRateLimit, FaultReset:
		default:
			return fmt.Errorf("unknown fault kind %q (want 500, 429 or reset)", k)
		}
	}
	if f.Rate > 0 && len(f.Kinds) == 0 {
		return fmt.Errorf("rate set without kinds")
	}
	return nil
}

type faultState struct {
	cfg Faults
	rng *rand.Rand
}

func newFaultState(seed uint64) *faultState {
	return &faultState{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// pick decides the delay and fault for one call; called under s.mu.
func (f *faultState) pick() (time.Duration, string) {
	var delay time.Duration
	if hi := f.cfg.LatencyMaxMS; hi > 0 {
		lo := min(f.cfg.LatencyMinMS, hi)
		delay = time.Duration(lo+f.rng.IntN(hi-lo+1)) * time.Millisecond
	}
	if len(f.cfg.Next) > 0 {
		k := f.cfg.Next[0]
		f.cfg.Next = f.cfg.Next[1:]
		return delay, k
	}
	if f.cfg.Rate > 0 && f.rng.Float64() < f.cfg.Rate {
		return delay, f.cfg.Kinds[f.rng.IntN(len(f.cfg.Kinds))]
	}
	return delay, ""
}

// SetFaults replaces the fault configuration of "chaport" or "omnidesk".
func (s *Sandbox) SetFaults(service string, f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.faults[service]
	if !ok {
		return fmt.Errorf("unknown service %q (want chaport or omnidesk)", service)
	}
	st.cfg = f
	return nil
}

// faulty wraps an API: it injects the configured faults and records every
// call in the call log with the status the client saw.
func (s *Sandbox) faulty(service string, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		delay, fault := s.faults[service].pick()
		retry := s.faults[service].cfg.RetryAfterSeconds
		s.mu.Unlock()
		if retry <= 0 {
			retry = 2
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		c := Call{Service: service, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			At: s.clock.Now(), Fault: fault, Remote: r.RemoteAddr}
		if r.Method != http.MethodGet && len(body) > 0 {
			c.Body = trimBody(body)
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		if service == serviceOmnidesk && fault != "" && fault != FaultReset {
			// Every real Omnidesk response carries the budget headers, an
			// injected failure too: a client must not lose track of them.
			s.mu.Lock()
			s.setBudgetHeaders(rec.Header(), s.omnideskS.BudgetPerMinute)
			s.mu.Unlock()
			if fault == FaultRateLimit { // a real 429 means none are left
				rec.Header()["api_calls_left"] = []string{"0"}
			}
		}
		switch fault {
		case FaultReset:
			c.Status = 0
			s.record(c)
			resetConnection(w)
			return
		case FaultServerError:
			writeJSON(rec, http.StatusInternalServerError, map[string]string{"error": "injected server error"})
		case FaultRateLimit:
			if service == serviceOmnidesk {
				rec.Header()["retry_after"] = []string{strconv.Itoa(retry)}
			} else {
				rec.Header().Set("Retry-After", strconv.Itoa(retry))
			}
			writeJSON(rec, http.StatusTooManyRequests, map[string]string{"error": "injected rate limit"})
		default:
			api.ServeHTTP(rec, r)
		}
		c.Status = rec.code
		c.Cost = rec.cost
		s.record(c)
	})
}

// resetConnection drops the TCP connection without a reply, as a crashed
// proxy would; the client sees "connection reset" or EOF.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tc.SetLinger(0) // RST rather than FIN
	}
	_ = conn.Close()
}

type statusRecorder struct {
	http.ResponseWriter
	code int
	cost int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func trimBody(b []byte) string {
	const max = 2048
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
