package main

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// FuzzReadConfigFile writes each input to a temporary file and reads it as the
// agent's config file. It must never panic; a "token" key is always refused
// (the token never comes from a file); and the reader accepts exactly the
// flat objects whose values are strings, numbers or booleans, passing each
// value on as the text its flag parses. Seeds are in
// testdata/fuzz/FuzzReadConfigFile.
func FuzzReadConfigFile(f *testing.F) {
	f.Add([]byte(`{"hub": "https://hub.acme.example", "grace": "3m", "lease": "2m", "insecure": false}`))
	f.Add([]byte(`{"hub": "http://127.0.0.1:8740", "token": "abc"}`))
	f.Add([]byte(`{"verbose": true, "chat-reminder": 120}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := os.CreateTemp(dir, "config-*.json")
		if err != nil {
			t.Fatal(err)
		}
		path := file.Name()
		defer os.Remove(path)
		_, err = file.Write(data)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}

		got, err := readConfigFile(path)

		var raw map[string]any
		isObject := json.Unmarshal(data, &raw) == nil
		if _, hasToken := raw["token"]; isObject && hasToken && err == nil {
			t.Fatalf("a token key was accepted from %q", data)
		}
		want := isObject
		if _, hasToken := raw["token"]; hasToken {
			want = false
		}
		for _, v := range raw {
			switch v.(type) {
			case string, bool, float64:
			default:
				want = false
			}
		}
		if (err == nil) != want {
			t.Fatalf("readConfigFile(%q) = %v, %v; reference says ok=%v", data, got, err, want)
		}
		if err != nil {
			return
		}
		if len(got) != len(raw) {
			t.Fatalf("%d settings from %d keys", len(got), len(raw))
		}
		for k, v := range raw {
			s, ok := got[k]
			if !ok {
				t.Fatalf("key %q lost", k)
			}
			switch v := v.(type) {
			case string:
				if s != v {
					t.Fatalf("%q = %q, want %q", k, s, v)
				}
			case bool:
				if b, err := strconv.ParseBool(s); err != nil || b != v {
					t.Fatalf("%q = %q, want %v", k, s, v)
				}
			case float64:
				if n, err := strconv.ParseFloat(s, 64); err != nil || n != v {
					t.Fatalf("%q = %q, want %v", k, s, v)
				}
			}
		}
	})
}
