package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecodeData feeds one frame through Decode and then DecodeData into every
// payload type either side reads. Decoding must never panic, a refused payload
// must be ErrBadFrame, and a payload that decoded must survive the trip the
// peer makes: NewEnvelope → JSON → Decode → DecodeData gives back an equal
// value (compared by its JSON encoding, which is what travels). Seeds are in
// testdata/fuzz/FuzzDecodeData.
func FuzzDecodeData(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"type":"snapshot","data":{"staff":{"id":42,"name":"Anna","email":"anna@acme.example"},"operator":{"id":"5f1c","name":"Anna","email":"anna@acme.example"},"statuses":[{"id":1,"name":"Online","chat_access":true,"active":true}],"status_id":1,"observed_at":"2026-03-02T09:00:00Z","omnidesk_url":"https://acme.omnidesk.ru"}}`,
		`{"v":1,"type":"status","data":{"status_id":2,"observed_at":"2026-03-02T09:05:00.123+03:00"}}`,
		`{"v":1,"type":"set_chaport","id":"r2","data":{"status":"online","ttl_seconds":120}}`,
		`{"v":1,"type":"chat","data":{"kind":"handover","chat_id":1042,"visitor_id":"65","at":"2026-03-02T09:00:00Z","transcript":[]}}`,
		`{"v":1,"type":"switch_status","id":"r1","data":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		env, err := Decode(frame)
		if err != nil {
			return // FuzzDecode covers the envelope itself
		}
		checkPayload[Snapshot](t, env)
		checkPayload[StatusChange](t, env)
		checkPayload[Catalogue](t, env)
		checkPayload[SetChaport](t, env)
		checkPayload[ExtendOnline](t, env)
		checkPayload[ChatEvent](t, env)
		checkPayload[SwitchStatus](t, env)
		checkPayload[ChaportState](t, env)
		checkPayload[ErrorBody](t, env)
	})
}

// checkPayload decodes env's data as a T and, when that works, sends the
// value through the whole encode/decode path again.
func checkPayload[T any](t *testing.T, env Envelope) {
	t.Helper()
	v, err := DecodeData[T](env)
	if err != nil {
		if !errors.Is(err, ErrBadFrame) {
			t.Fatalf("DecodeData[%T]: error %v is not ErrBadFrame", v, err)
		}
		return
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("decoded %T %+v does not encode: %v", v, v, err)
	}
	env2, err := NewEnvelope(env.Type, env.ID, v)
	if err != nil {
		t.Fatalf("NewEnvelope(%T %+v): %v", v, v, err)
	}
	frame, err := json.Marshal(env2)
	if err != nil {
		t.Fatalf("encode envelope %+v: %v", env2, err)
	}
	if int64(len(frame)) > DefaultMaxFrameBytes {
		return // escaping ("<" → "\u003c") may outgrow the limit; not a round trip then
	}
	env3, err := Decode(frame)
	if err != nil {
		t.Fatalf("own frame %s refused: %v", frame, err)
	}
	if env3.V != Version || env3.Type != env.Type || env3.ID != env.ID {
		t.Fatalf("envelope %+v came back as %+v", env2, env3)
	}
	v2, err := DecodeData[T](env3)
	if err != nil {
		t.Fatalf("DecodeData[%T] of own frame %s: %v", v, frame, err)
	}
	got, err := json.Marshal(v2)
	if err != nil {
		t.Fatalf("re-decoded %T does not encode: %v", v2, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%T round trip:\n got %s\nwant %s", v, got, want)
	}
}
