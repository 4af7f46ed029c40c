package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnitray/omnitray/internal/failstreak"
	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/clock"
	"github.com/omnitray/omnitray/sync/feed"
	"github.com/omnitray/omnitray/sync/handover"
	"github.com/omnitray/omnitray/sync/history"
	"github.com/omnitray/omnitray/sync/omnidesk"
	"github.com/omnitray/omnitray/sync/vendorapi"
)

// Config wires a hub. Omnidesk, Chaport and Secret are required.
type Config struct {
	Omnidesk *omnidesk.Client
	Chaport  *chaport.Client
	Secret   []byte
	File     FileConfig
	// OmnideskURL is the account's web address, for agents' "Open Omnidesk".
	OmnideskURL string
	Clock       clock.Clock
	Logger      *slog.Logger
	Feed        feed.ServerOptions
	// StateDir, if set, is where the hub keeps what must outlive it: the
	// learned Omnidesk budget, pinned operator links, token revocations and
	// when each token was last seen. Empty keeps all of it in memory.
	StateDir string
	// BudgetFile, if set, keeps the Omnidesk budget the hub learned across
	// a clean restart (see budgetstate.go); default StateDir/omnidesk-budget.json.
	BudgetFile string
	// Replicas, if set, makes this hub one replica of a cluster
	// (replicas.go); nil runs it alone, as one process.
	Replicas Replicas
}

// BudgetFileName is the learned Omnidesk budget's file in the state directory.
const BudgetFileName = "omnidesk-budget.json"

// Hub is a running hub: pollers plus the HTTP handler for agents.
type Hub struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock
	dir   *directory
	pace  *pacer
	links *linkKeeper
	// history records every employee's transitions (historyrec.go).
	history *recorder
	// switches limits status switches per employee; minuteLog keeps what
	// anyone can repeat (refused handshakes, one token's connections over
	// the cap) to a log line per source and minute.
	switches  *switchGate
	minuteLog *minuteLog
	// tokens admits agents' tokens and ends sessions whose token expired or
	// was revoked (sessionauth.go).
	tokens *tokenGuard
	// opStatus is each operator's Chaport status as last read, for the
	// snapshot (operatorstatus.go).
	opStatus *operatorStatuses
	// ctx ends the agents' sessions when Run's context ends; hijacked
	// websocket connections outlive their HTTP server otherwise.
	ctx    context.Context
	cancel context.CancelFunc
	// omnideskCalls counts the calls this hub made (a follower makes none).
	omnideskCalls atomic.Int64
	// rep is the link to the other replicas; nil for a hub alone.
	rep *replication
	// chatHook, when set (tests only), sees each chat poll's outcome.
	chatHook func(handover.PollStats)
}

// New checks the configuration and builds a hub; Run starts its pollers.
func New(cfg Config) (*Hub, error) {
	if cfg.Omnidesk == nil || cfg.Chaport == nil {
		return nil, errors.New("hub needs both an Omnidesk and a Chaport client")
	}
	if err := CheckSecret(cfg.Secret); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.File = cfg.File.withDefaults()
	if cfg.BudgetFile == "" && cfg.StateDir != "" {
		cfg.BudgetFile = filepath.Join(cfg.StateDir, BudgetFileName)
	}
	if cfg.File.OmnideskPublicURL != "" {
		cfg.OmnideskURL = cfg.File.OmnideskPublicURL
	}
	if cfg.Feed.Logger == nil {
		cfg.Feed.Logger = cfg.Logger
	}
	// Before anything starts: a hub that cannot read its pins must not
	// start (see linkstate.go).
	pins, err := loadPins(linksFile(cfg.StateDir))
	if err != nil {
		return nil, err
	}
	if cfg.Replicas != nil {
		pins = sharedPins(cfg.Replicas, pins, cfg.Logger)
	}
	tokens, err := newTokenGuard(cfg)
	if err != nil {
		return nil, err
	}
	store, err := openHistory(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{cfg: cfg, log: cfg.Logger, clock: cfg.Clock, dir: newDirectory(cfg.File, pins), tokens: tokens,
		pace: newPacer(cfg.Clock, cfg.File.BudgetShare, time.Duration(cfg.File.MinPollInterval),
			time.Duration(cfg.File.Limits.MaxRetryAfter)),
		links:     &linkKeeper{path: linksFile(cfg.StateDir)},
		history:   newRecorder(store, cfg.Clock, cfg.Logger),
		opStatus:  newOperatorStatuses(),
		switches:  newSwitchGate(cfg.File.Limits),
		minuteLog: newMinuteLog(cfg.Clock, cfg.Logger),
		ctx:       ctx,
		cancel:    cancel}
	if cfg.Replicas != nil {
		h.rep = &replication{r: cfg.Replicas, hub: h, fails: map[string]bool{}}
		h.dir.subs.node = cfg.Replicas.Node()
		tokens.revs = newSharedRevocations(ctx, tokens.revs, h.rep)
	}
	tokens.ended = func(s *session, code int) {
		cause, reason := history.CauseTokenRevoked, feed.ReasonTokenRevoked
		if code == feed.CloseTokenExpired {
			cause, reason = history.CauseTokenExpired, feed.ReasonTokenExpired
		}
		h.recordCutOff(s.staffID, cause, reason, h.dir.hostOf(s))
	}
	return h, nil
}

// Handler serves /v1/feed (the agents' websocket) and /healthz.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/feed", h.serveFeed)
	mux.HandleFunc("GET /healthz", h.serveHealth)
	return mux
}

// Run polls Omnidesk and Chaport until ctx ends; a replica of a cluster
// does so while it is the leader, and follows the leader otherwise.
func (h *Hub) Run(ctx context.Context) error {
	h.loadBudget()
	// Deferred before wg.Wait below, so it runs after it. Cancelling ends
	// the agents' sessions (hijacked connections outlive the HTTP server),
	// first, so that nothing books an Omnidesk call after the save.
	defer func() {
		h.cancel()
		h.saveBudget()
		h.flushLinks()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { h.keepLinks(ctx) })
	wg.Go(func() { h.tokens.run(ctx) })
	if h.rep == nil {
		h.lead(ctx)
		return nil
	}
	if err := h.follow(ctx); err != nil {
		return err
	}
	if err := h.followDevices(ctx); err != nil {
		return fmt.Errorf("following the other replicas' computers: %w", err)
	}
	h.rep.r.Lead(ctx, func(ctx context.Context) {
		if err := h.takeOver(ctx); err != nil {
			h.log.Warn("elected, but could not take the leader's work over", "err", err)
			return
		}
		h.rep.setLeading(true)
		defer h.rep.setLeading(false)
		h.log.Info("this replica leads the cluster: it polls Omnidesk and watches Chaport")
		h.lead(ctx)
		if ctx.Err() != nil {
			h.log.Info("this replica no longer leads the cluster; polling stopped")
		}
	})
	return nil
}

// lead is the leader's work until ctx ends: the pollers and the chat
// watcher. It waits for them, so that the chat watcher's last state write
// is done before a restarted hub (or the next leader) reads it.
func (h *Hub) lead(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if h.cfg.File.Chats.On() {
		w := h.newChatWatcher(ctx)
		wg.Go(func() { w.Run(ctx) })
	}
	wg.Go(func() { h.operatorLoop(ctx) }) // it may pin links: done before the final save
	h.staffLoop(ctx)
}

// omnideskCall runs one paced Omnidesk call and feeds the pacer what the
// response said about the budget. Writes are status switches a person is
// waiting for, so they are urgent; reads are not.
func (h *Hub) omnideskCall(ctx context.Context, cost int, call func(context.Context) error) error {
	return h.omnideskCallAs(ctx, cost, cost > 1, call)
}

// omnideskCallAs is omnideskCall with the urgency given: a switch's
// read-back is a read a person waits for, and counts as part of the switch
// in the pacer's fairness, so that a flood of switches cannot starve polls
// through their read-backs.
func (h *Hub) omnideskCallAs(ctx context.Context, cost int, urgent bool, call func(context.Context) error) error {
	if err := h.pace.wait(ctx, cost, urgent); err != nil {
		return err
	}
	if err := h.rep.fence(); err != nil {
		return err
	}
	h.shareBudget(ctx)
	h.omnideskCalls.Add(1)
	err := call(ctx)
	if lim := h.cfg.Omnidesk.Limits(); lim.Known {
		h.pace.observe(lim.PerMinute)
	}
	if errors.Is(err, vendorapi.ErrRateLimited) {
		wait, ok := vendorapi.RetryAfter(err)
		if !ok {
			wait = time.Minute // the legacy 403 says nothing; a minute empties any window
		}
		if held := h.pace.backoff(wait); held < wait {
			h.log.Warn("Omnidesk rate limit reached; waiting, capped at limits.max_retry_after", "retry_after", wait, "waiting", held)
		} else {
			h.log.Warn("Omnidesk rate limit reached; waiting", "retry_after", wait)
		}
		h.shareBudget(ctx)
	}
	return err
}

// staffLoop is the one Omnidesk poller for the whole account: the catalogue
// now and then, the staff list as often as the budget share allows.
func (h *Hub) staffLoop(ctx context.Context) {
	var catalogueAt time.Time
	if h.rep != nil && h.dir.hasCatalogue() {
		// A new leader has the catalogue from the shared state: the staff
		// poll goes first, a pacing slot sooner after a failover.
		catalogueAt = h.clock.Now()
	}
	var polls failstreak.Streak
	for ctx.Err() == nil {
		if catalogueAt.IsZero() || h.clock.Now().Sub(catalogueAt) >= time.Duration(h.cfg.File.CatalogueRefresh) {
			if err := h.refreshCatalogue(ctx); err == nil {
				catalogueAt = h.clock.Now()
			} else if ctx.Err() == nil {
				h.log.Warn("reading the Omnidesk status catalogue failed", "err", err)
			}
		}
		err := h.pollStaff(ctx)
		if ctx.Err() != nil {
			return
		}
		polls.Note(h.log, err, "polling Omnidesk staff failed; agents keep their last status",
			"polling Omnidesk staff works again")
	}
}

func (h *Hub) refreshCatalogue(ctx context.Context) error {
	var sts []omnidesk.StaffStatus
	err := h.omnideskCall(ctx, 1, func(ctx context.Context) (err error) {
		sts, err = h.cfg.Omnidesk.StaffStatuses(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("reading statuses: %w", err)
	}
	if h.applyCatalogue(sts) {
		h.rep.put(ctx, keyCatalogue, sts)
	}
	return nil
}

// applyCatalogue stores a catalogue the leader read and tells every agent
// when it changed.
func (h *Hub) applyCatalogue(sts []omnidesk.StaffStatus) (changed bool) {
	cat, to, changed := h.dir.updateCatalogue(sts)
	if changed {
		h.log.Info("Omnidesk status catalogue loaded", "statuses", len(sts), "agents", len(to))
		h.push(to, feed.TypeCatalogue, cat)
	}
	return changed
}

// pollStaff reads every page of the staff list, each page one paced call.
// Changes are pushed page by page, as soon as a page is read: with
// thousands of staff a change need not wait for the rest of the poll.
func (h *Hub) pollStaff(ctx context.Context) error {
	seen := 0
	var firstOfPrev int64
	for page := 1; page <= 500; page++ {
		var p omnidesk.StaffPage
		err := h.omnideskCall(ctx, 1, func(ctx context.Context) (err error) {
			p, err = h.cfg.Omnidesk.ListStaff(ctx, page, 100)
			return err
		})
		if err != nil {
			return fmt.Errorf("polling staff page %d: %w", page, err)
		}
		// A server that ignores "page" repeats page 1; without a total_count
		// nothing else would stop the loop before the page cap.
		if len(p.Staff) > 0 && page > 1 && p.Staff[0].ID == firstOfPrev {
			return fmt.Errorf("polling staff page %d: the server repeated page %d (paging ignored?)", page, page-1)
		}
		if len(p.Staff) > 0 {
			firstOfPrev = p.Staff[0].ID
		}
		seen += len(p.Staff)
		// TotalCount is 0 when the reply leaves it out: then only a short
		// or empty page ends the list (as omnidesk.AllStaff reads it).
		last := len(p.Staff) < 100 || (p.TotalCount > 0 && seen >= p.TotalCount)
		now := h.clock.Now()
		h.applyStaffPage(p.Staff, now, last)
		h.rep.publish(subjectStaffPage, staffPageMsg{Staff: p.Staff, At: now, Complete: last})
		if last {
			break
		}
	}
	return nil
}

// applyStaffPage stores one page of a staff poll (the leader's own, or one
// it published) and pushes the changes in it to this replica's agents.
func (h *Hub) applyStaffPage(list []omnidesk.Staff, now time.Time, last bool) {
	changes, relinked := h.dir.updateStaff(list, now, last, h.cfg.OmnideskURL)
	for _, ch := range changes {
		h.history.omnidesk(ch.staffID, ch.from, ch.toName, now, "")
		h.log.Debug("Omnidesk status changed", "staff", ch.staffID, "status", ch.change.StatusID, "agents", len(ch.to))
		h.push(ch.to, feed.TypeStatus, ch.change)
	}
	h.sendSnapshots(relinked)
	if last {
		h.history.sweep(h.clock.Now())
	}
}

func (h *Hub) push(to []*session, typ string, data any) {
	if len(to) == 0 {
		return
	}
	env, err := feed.NewEnvelope(typ, "", data)
	if err != nil {
		h.log.Error("encoding a feed message", "type", typ, "err", err)
		return
	}
	for _, s := range to {
		s.send(env)
	}
}

// sendSnapshots sends agents a fresh snapshot after a re-link.
func (h *Hub) sendSnapshots(to map[*session]feed.Snapshot) {
	for s, snap := range to {
		if env, err := feed.NewEnvelope(feed.TypeSnapshot, "", h.withChaport(snap)); err == nil {
			s.send(env)
		}
	}
}

// operatorLoop keeps the Chaport operator list fresh for e-mail links.
func (h *Hub) operatorLoop(ctx context.Context) {
	retry := 5 * time.Second
	for {
		started := h.clock.Now()
		ops, err := h.cfg.Chaport.ListOperators(ctx)
		wait := time.Duration(h.cfg.File.OperatorRefresh)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("reading Chaport operators failed", "err", err)
			wait, retry = retry, min(retry*2, wait)
		} else {
			h.applyOperators(ops, started)
			h.rep.put(ctx, keyOperators, operatorsMsg{Operators: ops, At: started})
			retry = 5 * time.Second
		}
		t := h.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// applyOperators stores the Chaport operator list read at started.
func (h *Hub) applyOperators(ops []chaport.Operator, started time.Time) {
	h.opStatus.fromList(ops, started)
	h.sendSnapshots(h.dir.updateOperators(ops, h.cfg.OmnideskURL))
}
