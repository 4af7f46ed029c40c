package chaport

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

const (
	visitorID = "5a1b2c3d4e5f60718293a4b5"
	botOp     = "59747c3ff77948220136b7b3"
)

// The five events of docs/vendor-contract.md with the default bot and
// operator-change types, timestamps on all but the third.
const latestChatJSON = `{"result": {"id": 42, "stage": "engaged", "operators": ["59747c3ff77948220136b7b3"], "missed": false, "rating": null, "startPage": "https://example.com/pricing",
  "events": [
    { "id": "e1", "type": "visitor-message",  "params": { "text": "Hi" }, "createdAt": "2017-10-03T10:47:31.873Z" },
    { "id": "e2", "type": "bot-message",      "params": { "text": "How can I help?" }, "createdAt": "2017-10-03T10:47:32.001Z" },
    { "id": "e3", "type": "visitor-message",  "params": { "text": "Talk to a human" } },
    { "id": "e4", "type": "operator-joined", "params": { "operatorId": "59747c3ff77948220136b7b3" }, "createdAt": "2017-10-03T10:48:00.000Z" },
    { "id": "e5", "type": "operator-message", "params": { "text": "Hello!", "operatorId": "59747c3ff77948220136b7b3" }, "createdAt": "2017-10-03T10:48:05.500Z" }
  ],
  "links": {"more": ["/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/41", "/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/40"]}}}`

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func params(kv ...string) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}

var fiveEvents = []Event{
	{ID: "e1", Type: "visitor-message", Text: "Hi", Params: params("text", `"Hi"`), At: at("2017-10-03T10:47:31.873Z")},
	{ID: "e2", Type: "bot-message", Text: "How can I help?", Params: params("text", `"How can I help?"`), At: at("2017-10-03T10:47:32.001Z")},
	{ID: "e3", Type: "visitor-message", Text: "Talk to a human", Params: params("text", `"Talk to a human"`)},
	{ID: "e4", Type: "operator-joined", OperatorID: botOp, Params: params("operatorId", `"`+botOp+`"`), At: at("2017-10-03T10:48:00Z")},
	{ID: "e5", Type: "operator-message", Text: "Hello!", OperatorID: botOp,
		Params: params("text", `"Hello!"`, "operatorId", `"`+botOp+`"`), At: at("2017-10-03T10:48:05.5Z")},
}

func TestLatestChat(t *testing.T) {
	c, rc := replay(t, 200, latestChatJSON, Config{})
	ch, err := c.LatestChat(context.Background(), visitorID)
	if err != nil {
		t.Fatal(err)
	}
	want := Chat{ID: 42, Stage: "engaged", Operators: []string{botOp}, Events: fiveEvents, More: []string{
		"/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/41", "/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/40"}}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("chat =\n%+v\nwant\n%+v", ch, want)
	}
	checkSent(t, rc.only(t), "GET", "/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats")
}

// Operators as objects, a numeric rating, numeric event ids, a configured
// timestamp field and links beside "result": the unconfirmed shapes.
func TestGetChatAlternativeShapes(t *testing.T) {
	const body = `{"result": {"id": 7, "stage": "closed", "operators": [{"id": "59747c3ff77948220136b7b3", "name": "Jon Snow"}], "missed": true, "rating": 5,
  "events": [{"id": 1001, "type": "visitor-message", "params": {"text": "bye"}, "timestamp": "2024-05-06T07:08:09.010Z", "createdAt": "not used"}]},
  "links": {"more": ["/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/6"]}}`
	c, rc := replay(t, 200, body, Config{EventTimeField: "timestamp"})
	ch, err := c.GetChat(context.Background(), visitorID, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := Chat{ID: 7, Stage: "closed", Operators: []string{botOp}, Missed: true, Rating: json.RawMessage(`5`),
		Events: []Event{{ID: "1001", Type: "visitor-message", Text: "bye", Params: params("text", `"bye"`), At: at("2024-05-06T07:08:09.01Z")}},
		More:   []string{"/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/6"}}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("chat =\n%+v\nwant\n%+v", ch, want)
	}
	checkSent(t, rc.only(t), "GET", "/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/7")
}

func TestChatRatingKeptRaw(t *testing.T) {
	for _, tc := range []struct{ rating, want string }{
		{`null`, ``}, {`4`, `4`}, {`"good"`, `"good"`}, {`{"score": 5, "comment": "ok"}`, `{"score": 5, "comment": "ok"}`},
	} {
		c, _ := replay(t, 200, `{"result": {"id": 1, "rating": `+tc.rating+`}}`, Config{})
		ch, err := c.LatestChat(context.Background(), visitorID)
		if err != nil {
			t.Fatalf("rating %s: %v", tc.rating, err)
		}
		if string(ch.Rating) != tc.want {
			t.Errorf("rating %s kept as %q", tc.rating, ch.Rating)
		}
	}
}

func TestChatEvents(t *testing.T) {
	// Unknown types, a bot event with our guessed params, a params-less event
	// and one whose params are not an object must all decode.
	const body = `{"result": [
    { "id": "e1", "type": "visitor-message", "params": { "text": "Hi" }, "createdAt": "2017-10-03T10:47:31.873Z" },
    { "id": 2, "type": "chatbot-message", "params": { "text": "Choose:", "botId": "b-1", "botName": "Helper", "buttons": ["Sales", "Support"] } },
    { "id": "e3", "type": "page-opened", "params": { "url": "https://example.com/", "title": "Home" } },
    { "id": "e4", "type": "chat-closed" },
    { "id": "e5", "type": "something-new", "params": ["odd"], "createdAt": null }
  ]}`
	c, rc := replay(t, 200, body, Config{})
	evs, err := c.ChatEvents(context.Background(), visitorID, 42)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{ID: "e1", Type: "visitor-message", Text: "Hi", Params: params("text", `"Hi"`), At: at("2017-10-03T10:47:31.873Z")},
		{ID: "2", Type: "chatbot-message", Text: "Choose:", BotID: "b-1", BotName: "Helper",
			Params: params("text", `"Choose:"`, "botId", `"b-1"`, "botName", `"Helper"`, "buttons", `["Sales", "Support"]`)},
		{ID: "e3", Type: "page-opened", Params: params("url", `"https://example.com/"`, "title", `"Home"`)},
		{ID: "e4", Type: "chat-closed"},
		{ID: "e5", Type: "something-new"},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events =\n%+v\nwant\n%+v", evs, want)
	}
	checkSent(t, rc.only(t), "GET", "/api/v1/visitors/5a1b2c3d4e5f60718293a4b5/chats/42/events")
}
