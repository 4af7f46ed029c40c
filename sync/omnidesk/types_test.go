package omnidesk

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeRoundTrip(t *testing.T) {
	in := `{"created_at":"Mon, 05 May 2014 00:15:17 +0300","updated_at":"Sun, 01 Dec 2024 23:59:59 -0500"}`
	var v struct {
		CreatedAt Time `json:"created_at"`
		UpdatedAt Time `json:"updated_at"`
	}
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2014, 5, 4, 21, 15, 17, 0, time.UTC); !v.CreatedAt.Equal(want) {
		t.Errorf("created_at = %v, want %v", v.CreatedAt, want)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip:\n got %s\nwant %s", out, in)
	}
}

func TestTimeEmpty(t *testing.T) {
	for _, in := range []string{`""`, `null`} {
		var tm Time
		tm.Time = time.Now()
		if err := json.Unmarshal([]byte(in), &tm); err != nil || !tm.IsZero() {
			t.Errorf("%s: got %v, %v; want zero, nil", in, tm, err)
		}
	}
	if out, _ := json.Marshal(Time{}); string(out) != "null" {
		t.Errorf("zero marshals as %s", out)
	}
}

func TestTimeBad(t *testing.T) {
	for _, in := range []string{`"2014-05-05T00:15:17+03:00"`, `"Mon, 05 May 2014 00:15:17 MSK"`, `"yesterday"`, `1399238117`, `{}`} {
		var tm Time
		if err := json.Unmarshal([]byte(in), &tm); err == nil {
			t.Errorf("%s: parsed as %v, want error", in, tm)
		}
	}
}

func TestDecodeListOrder(t *testing.T) {
	in := `{"10": {"x": {"n": 10}}, "2": {"x": {"n": 2}}, "total": 3, "extra": "ignored", "0": {"x": {"n": 0}}}`
	type item struct{ N int }
	got, count, has, err := decodeList[item]([]byte(in), "x", "total")
	if err != nil || !has || count != 3 {
		t.Fatalf("count %d (has %v), err %v", count, has, err)
	}
	if len(got) != 3 || got[0].N != 0 || got[1].N != 2 || got[2].N != 10 {
		t.Errorf("order = %v, want numeric 0, 2, 10", got)
	}
	if _, _, _, err := decodeList[item]([]byte(`{"0": {"x": {}}, "total": "many"}`), "x", "total"); err == nil {
		t.Error("bad count accepted")
	}
}
