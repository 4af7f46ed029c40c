package sandbox

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

type visitor struct {
	ID    string
	Name  string
	Email string
	Chats []*chat // oldest first
}

type chat struct {
	ID        int64
	Stage     string
	Operators []string
	Missed    bool
	Events    []event
	UpdatedAt time.Time
}

type event struct {
	ID     string
	Type   string
	Params map[string]any
	At     time.Time
}

type chatStore struct {
	visitors      []*visitor
	nextChat      int64
	nextEvent     int
	idSeq         uint64
	subscriptions []map[string]any
}

func newChatStore(now time.Time) *chatStore {
	return &chatStore{nextChat: 1000, idSeq: uint64(now.Unix())}
}

// newID makes a 24-hex id in Chaport's ObjectId style.
func (c *chatStore) newID() string {
	c.idSeq++
	return fmt.Sprintf("65%022x", c.idSeq)
}

func (c *chatStore) visitor(id string) *visitor {
	for _, v := range c.visitors {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// ScriptEvent is one step of a scripted chat. Kind is "visitor", "bot",
// "handover", "operator" or "close"; alternatively Type and Params give a raw
// event of any type (to test that clients ignore types they do not know).
type ScriptEvent struct {
	Kind       string         `json:"kind,omitempty"`
	Text       string         `json:"text,omitempty"`
	Bot        string         `json:"bot,omitempty"`
	OperatorID string         `json:"operator_id,omitempty"`
	Type       string         `json:"type,omitempty"`
	Params     map[string]any `json:"params,omitempty"`
}

// ScriptedChat names the chat a script created or extended.
type ScriptedChat struct {
	VisitorID string `json:"visitor_id"`
	ChatID    int64  `json:"chat_id"`
}

// StartChat creates a visitor with a new chat and plays the steps into it.
func (s *Sandbox) StartChat(visitorName, visitorEmail string, steps []ScriptEvent) (ScriptedChat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	v := &visitor{ID: s.chats.newID(), Name: visitorName, Email: visitorEmail}
	ch := &chat{ID: s.chats.nextChat, Stage: "initiated", Operators: []string{}, UpdatedAt: now}
	s.chats.nextChat++
	v.Chats = append(v.Chats, ch)
	if err := s.play(ch, steps, now); err != nil {
		return ScriptedChat{}, err
	}
	s.chats.visitors = append(s.chats.visitors, v)
	return ScriptedChat{VisitorID: v.ID, ChatID: ch.ID}, nil
}

// AppendChat plays more steps into the visitor's latest chat.
func (s *Sandbox) AppendChat(visitorID string, steps []ScriptEvent) (ScriptedChat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.chats.visitor(visitorID)
	if v == nil || len(v.Chats) == 0 {
		return ScriptedChat{}, fmt.Errorf("no visitor %q", visitorID)
	}
	ch := v.Chats[len(v.Chats)-1]
	if err := s.play(ch, steps, s.clock.Now()); err != nil {
		return ScriptedChat{}, err
	}
	return ScriptedChat{VisitorID: v.ID, ChatID: ch.ID}, nil
}

// play validates all steps first so that a bad script changes nothing.
func (s *Sandbox) play(ch *chat, steps []ScriptEvent, now time.Time) error {
	evs := make([]event, 0, len(steps))
	stage, ops := ch.Stage, slices.Clone(ch.Operators)
	for i, st := range steps {
		e := event{Type: st.Type, Params: map[string]any{}}
		switch st.Kind {
		case "visitor":
			e.Type, e.Params["text"] = "visitor-message", st.Text
		case "bot":
			e.Type, e.Params["text"] = s.chaportS.BotEventType, st.Text
			bot := cmp.Or(st.Bot, "Helper Bot")
			e.Params["botName"], e.Params["botId"] = bot, "bot-"+strconv.Itoa(len(bot))
			stage = cmp.Or(map[string]string{"initiated": "responded"}[stage], stage)
		case "handover", "operator":
			if s.findOperator(st.OperatorID) == nil {
				return fmt.Errorf("step %d: unknown operator %q", i+1, st.OperatorID)
			}
			e.Params["operatorId"] = st.OperatorID
			e.Type = s.chaportS.OperatorChangeType
			if st.Kind == "operator" {
				e.Type, e.Params["text"] = "operator-message", st.Text
			}
			stage, ops = "engaged", []string{st.OperatorID}
		case "close":
			stage = "closed"
			continue
		case "":
			if st.Type == "" {
				return fmt.Errorf("step %d: kind or type is required", i+1)
			}
			for k, v := range st.Params {
				e.Params[k] = v
			}
		default:
			return fmt.Errorf("step %d: unknown kind %q", i+1, st.Kind)
		}
		evs = append(evs, e)
	}
	for _, e := range evs {
		s.chats.nextEvent++
		e.ID, e.At = "e"+strconv.Itoa(s.chats.nextEvent), now
		ch.Events = append(ch.Events, e)
	}
	ch.Stage, ch.Operators, ch.UpdatedAt = stage, ops, now
	return nil
}

func (s *Sandbox) eventJSON(e event) map[string]any {
	return map[string]any{"id": e.ID, "type": e.Type, "params": e.Params,
		s.chaportS.EventTimeField: chaportTime(e.At)}
}

func (s *Sandbox) chatJSON(v *visitor, ch *chat) map[string]any {
	evs := make([]map[string]any, 0, len(ch.Events))
	for _, e := range ch.Events {
		evs = append(evs, s.eventJSON(e))
	}
	more := []string{}
	for _, old := range v.Chats {
		if old.ID != ch.ID {
			more = append(more, fmt.Sprintf("/api/v1/visitors/%s/chats/%d", v.ID, old.ID))
		}
	}
	return map[string]any{"id": ch.ID, "stage": ch.Stage, "operators": ch.Operators,
		"missed": ch.Missed, "rating": nil, "events": evs, "links": map[string]any{"more": more}}
}

func visitorJSON(v *visitor) map[string]any {
	return map[string]any{"id": v.ID, "name": v.Name, "email": v.Email}
}

func (s *Sandbox) chaportVisitors(w http.ResponseWriter, r *http.Request) {
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			chaportError(w, http.StatusBadRequest, "page must be a whole number from 1")
			return
		}
		page = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := slices.Clone(s.chats.visitors)
	latest := func(v *visitor) time.Time { return v.Chats[len(v.Chats)-1].UpdatedAt }
	slices.SortStableFunc(vs, func(a, b *visitor) int { return latest(b).Compare(latest(a)) })
	size := s.chaportS.VisitorsPageSize
	from := min((page-1)*size, len(vs))
	to := min(from+size, len(vs))
	out := make([]map[string]any, 0, to-from)
	for _, v := range vs[from:to] {
		out = append(out, visitorJSON(v))
	}
	links := map[string]any{}
	if to < len(vs) {
		links["next"] = fmt.Sprintf("/api/v1/visitors?page=%d", page+1)
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": out, "links": links})
}

func (s *Sandbox) chaportVisitor(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.chats.visitor(r.PathValue("vid"))
	if v == nil {
		chaportError(w, http.StatusNotFound, "visitor not found")
		return
	}
	chaportResult(w, visitorJSON(v))
}

// chatFor finds the visitor's latest chat, or the one named by {cid}.
func (s *Sandbox) chatFor(w http.ResponseWriter, r *http.Request) (*visitor, *chat) {
	v := s.chats.visitor(r.PathValue("vid"))
	if v == nil || len(v.Chats) == 0 {
		chaportError(w, http.StatusNotFound, "visitor not found")
		return nil, nil
	}
	cid := r.PathValue("cid")
	if cid == "" {
		return v, v.Chats[len(v.Chats)-1]
	}
	id, err := strconv.ParseInt(cid, 10, 64)
	if err != nil {
		chaportError(w, http.StatusBadRequest, "chat id must be an integer")
		return nil, nil
	}
	for _, ch := range v.Chats {
		if ch.ID == id {
			return v, ch
		}
	}
	chaportError(w, http.StatusNotFound, "chat not found")
	return nil, nil
}

func (s *Sandbox) chaportLatestChat(w http.ResponseWriter, r *http.Request) {
	s.chaportChat(w, r)
}

func (s *Sandbox) chaportChat(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ch := s.chatFor(w, r); ch != nil {
		chaportResult(w, s.chatJSON(v, ch))
	}
}

func (s *Sandbox) chaportChatEvents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ch := s.chatFor(w, r); ch != nil {
		evs := make([]map[string]any, 0, len(ch.Events))
		for _, e := range ch.Events {
			evs = append(evs, s.eventJSON(e))
		}
		chaportResult(w, evs)
	}
}
