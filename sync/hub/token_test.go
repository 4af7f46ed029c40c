package hub

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	tok, err := Sign(secret, 201, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := Sign([]byte("another-secret-of-enough-length!"), 201, now, time.Hour)
	body, sig, _ := strings.Cut(strings.TrimPrefix(tok, tokenPrefix), ".")
	forgedBody := strings.Replace(body, body[:4], "AAAA", 1)
	for _, tc := range []struct {
		name  string
		token string
		at    time.Time
		staff int64
		err   error
	}{
		{"valid", tok, now, 201, nil},
		{"valid until the end", tok, now.Add(time.Hour - time.Second), 201, nil},
		{"expired", tok, now.Add(time.Hour), 0, ErrTokenExpired},
		{"other secret", other, now, 0, ErrTokenSignature},
		{"body changed", tokenPrefix + forgedBody + "." + sig, now, 0, ErrTokenSignature},
		{"no prefix", strings.TrimPrefix(tok, tokenPrefix), now, 0, ErrTokenMalformed},
		{"no signature", tokenPrefix + body, now, 0, ErrTokenMalformed},
		{"empty", "", now, 0, ErrTokenMalformed},
		{"huge", tokenPrefix + strings.Repeat("a", 5000), now, 0, ErrTokenMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			staff, err := Verify(secret, tc.token, tc.at)
			if !errors.Is(err, tc.err) || staff != tc.staff {
				t.Fatalf("got %d, %v; want %d, %v", staff, err, tc.staff, tc.err)
			}
		})
	}
	if _, err := Sign([]byte("short"), 1, now, time.Hour); err == nil {
		t.Fatal("short secret accepted")
	}
	if _, err := Sign(secret, 0, now, time.Hour); err == nil {
		t.Fatal("staff 0 accepted")
	}
}
