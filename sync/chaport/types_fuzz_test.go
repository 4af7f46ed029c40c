package chaport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/omnitray/omnitray/sync/vendorapi"
)

// FuzzEnvelope serves one fuzzed 200 reply body to every read the client makes
// (and to a status write), through the real call path: vendorapi, the
// {"result": …} envelope, links, and the per-call decoding. Nothing may panic;
// every failure must be a *vendorapi.Error of kind ErrBadResponse (the server
// said 2xx, so the reply is what is wrong); and what Me, ListVisitors and
// ChatEvents accept is checked against a reference reading of the envelope.
// Seeds are in testdata/fuzz/FuzzEnvelope.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"result": {"id": "acc1", "name": "Winterfell Inc"}}`))
	f.Add([]byte(`{"result": [{"id": "59747c3ff77948220136b7b3", "email": "jon@example.com", "lastLoginAt": "2017-10-03T10:47:31.873Z", "lastStatus": "online", "realStatus": "online"}], "links": {"next": "/api/v1/visitors?page=2"}}`))
	f.Add([]byte(`{"result": [{"id": "e1", "type": "visitor-message", "params": {"text": "Hi"}, "createdAt": "2017-10-03T10:47:31.873Z"}, {"id": 2, "type": "mystery"}]}`))
	f.Add([]byte(`{"result": {"id": 1042, "stage": "engaged", "operators": ["59747c3ff77948220136b7b3", {"id": 7}], "events": [], "links": {"more": ["/api/v1/visitors/v1/chats/1"]}}}`))
	f.Add([]byte(`{"result": null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := New(Config{BaseURL: "http://chaport.invalid", Token: testToken,
			HTTPClient: &http.Client{Transport: cannedReply(body)}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		var env struct {
			Result json.RawMessage `json:"result"`
			Links  links           `json:"links"`
		}
		envOK := json.Unmarshal(body, &env) == nil && !isNull(env.Result)

		raw, err := c.Me(ctx)
		checkReplyErr(t, "Me", err)
		if (err == nil) != envOK {
			t.Fatalf("Me: err %v, but the reference envelope reading says ok=%v", err, envOK)
		}
		if err == nil && !bytes.Equal(raw, env.Result) {
			t.Fatalf("Me = %s, want result %s", raw, env.Result)
		}

		_, err = c.ListOperators(ctx)
		checkReplyErr(t, "ListOperators", err)
		_, err = c.GetOperator(ctx, "59747c3ff77948220136b7b3")
		checkReplyErr(t, "GetOperator", err)
		_, err = c.SetOperatorStatus(ctx, "59747c3ff77948220136b7b3", Online, 2*time.Minute)
		checkReplyErr(t, "SetOperatorStatus", err)
		page, err := c.ListVisitors(ctx, 1)
		checkReplyErr(t, "ListVisitors", err)
		if err == nil && page.Next != env.Links.Next {
			t.Fatalf("ListVisitors next = %q, want %q", page.Next, env.Links.Next)
		}
		_, err = c.GetVisitor(ctx, "v1")
		checkReplyErr(t, "GetVisitor", err)
		ch, err := c.LatestChat(ctx, "v1")
		checkReplyErr(t, "LatestChat", err)
		if err == nil {
			for _, op := range ch.Operators {
				if op == "" {
					t.Fatalf("LatestChat kept an empty operator id: %q", ch.Operators)
				}
			}
		}
		_, err = c.GetChat(ctx, "v1", 1042)
		checkReplyErr(t, "GetChat", err)

		evs, err := c.ChatEvents(ctx, "v1", 1042)
		checkReplyErr(t, "ChatEvents", err)
		var raws []json.RawMessage
		if envOK && json.Unmarshal(env.Result, &raws) == nil {
			want := true
			for _, r := range raws {
				want = want && eventAcceptable(r, "createdAt")
			}
			if (err == nil) != want {
				t.Fatalf("ChatEvents: err %v, but the reference says ok=%v for %s", err, want, env.Result)
			}
			if err == nil && len(evs) != len(raws) {
				t.Fatalf("ChatEvents returned %d events of %d", len(evs), len(raws))
			}
		} else if err == nil {
			t.Fatalf("ChatEvents accepted a result that is not an array: %s", body)
		}
	})
}

// cannedReply answers every request with 200 and the same body, in memory.
type cannedReply []byte

func (b cannedReply) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       r,
	}, nil
}

func checkReplyErr(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *vendorapi.Error
	if !errors.As(err, &ve) || !errors.Is(err, vendorapi.ErrBadResponse) || ve.StatusCode != http.StatusOK {
		t.Fatalf("%s: a bad 200 reply gave %T %v, want a *vendorapi.Error of kind ErrBadResponse", op, err, err)
	}
}

// FuzzEvent fuzzes one chat event and the configured timestamp field. It must
// never panic; it must accept exactly the events whose id is absent, null, a
// string or a number and whose timestamp is absent, null or RFC 3339 — any
// type and any params, so unknown kinds decode; the id must be the string's
// value or the number's literal text; and an event written back with that id
// as a JSON string must decode to the same event. Seeds are in
// testdata/fuzz/FuzzEvent.
func FuzzEvent(f *testing.F) {
	for _, ev := range []string{
		`{"id": "e1", "type": "visitor-message", "params": {"text": "Hi"}, "createdAt": "2017-10-03T10:47:31.873Z"}`,
		`{"id": "e4", "type": "operator-joined", "params": {"operatorId": "59747c3ff77948220136b7b3"}}`,
		`{"id": 12345678901234567890123, "type": "chatbot-message", "params": {"botName": "Helper", "botId": 7}}`,
	} {
		f.Add([]byte(ev), "createdAt")
	}
	f.Add([]byte(`{"id": "e5", "timestamp": "2024-05-06T07:08:09.01+03:00"}`), "timestamp")
	f.Fuzz(func(t *testing.T, raw []byte, timeField string) {
		ev, err := decodeEvent(raw, timeField)
		if want := eventAcceptable(raw, timeField); (err == nil) != want {
			t.Fatalf("decodeEvent(%s, %q) = %+v, %v; reference says ok=%v", raw, timeField, ev, err, want)
		}
		if err != nil {
			return
		}
		var top map[string]json.RawMessage
		_ = json.Unmarshal(raw, &top)
		if want := idText(top["id"]); ev.ID != want {
			t.Fatalf("id %s read as %q, want %q", top["id"], ev.ID, want)
		}
		if timeField == "id" || timeField == "type" || timeField == "params" {
			return // the timestamp shares a key with another field; no clean rewrite
		}
		back := map[string]any{"id": ev.ID, "type": ev.Type, "params": ev.Params}
		if !ev.At.IsZero() {
			back[timeField] = ev.At.Format(time.RFC3339Nano)
		}
		again, err := json.Marshal(back)
		if err != nil {
			t.Fatalf("event %+v does not re-encode: %v", ev, err)
		}
		ev2, err := decodeEvent(again, timeField)
		if err != nil {
			t.Fatalf("re-encoded event %s refused: %v", again, err)
		}
		if ev2.ID != ev.ID || ev2.Type != ev.Type || ev2.Text != ev.Text || ev2.OperatorID != ev.OperatorID ||
			ev2.BotID != ev.BotID || ev2.BotName != ev.BotName || !ev2.At.Equal(ev.At) {
			t.Fatalf("event %+v came back as %+v via %s", ev, ev2, again)
		}
		if !sameParams(ev.Params, ev2.Params) {
			t.Fatalf("params %v came back as %v", ev.Params, ev2.Params)
		}
	})
}

// eventAcceptable is the contract decodeEvent implements, written out
// independently: a JSON object whose id is absent, null, a string or a number,
// and whose timestamp is absent, null or an RFC 3339 string.
func eventAcceptable(raw []byte, timeField string) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil || top == nil {
		return false
	}
	switch jsonKind(top["id"]) {
	case "absent", "null", "string", "number":
	default:
		return false
	}
	switch jsonKind(top[timeField]) {
	case "absent", "null":
		return true
	case "string":
		var s string
		_ = json.Unmarshal(top[timeField], &s)
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	}
	return false
}

// jsonKind names the kind of one JSON value.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "absent"
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber() // 1e400 is a number literal even though no float64 holds it
	tok, err := dec.Token()
	if err != nil {
		return "invalid"
	}
	switch tok.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "composite"
}

// idText is what an event id must read as: the string, the number's literal
// text, or "".
func idText(v json.RawMessage) string {
	switch jsonKind(v) {
	case "string":
		var s string
		_ = json.Unmarshal(v, &s)
		return s
	case "number":
		return string(bytes.TrimSpace(v))
	}
	return ""
}

// sameParams compares params by meaning: re-encoding may change spacing and
// escapes, not values.
func sameParams(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		var x, y any
		da := json.NewDecoder(bytes.NewReader(va))
		da.UseNumber()
		db := json.NewDecoder(bytes.NewReader(vb))
		db.UseNumber()
		if da.Decode(&x) != nil || db.Decode(&y) != nil || !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}
