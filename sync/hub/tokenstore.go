package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/omnitray/omnitray/internal/atomicfile"
)

// TokensFileName is the token registry in the hub's state directory: the
// tokens `omnitray-hub token` issued and the revocations. Only the token
// commands write it (under a lock); the hub only reads it.
const TokensFileName = "tokens.json"

// Token lifetimes accepted by the token command.
const (
	DefaultTokenTTL = 30 * 24 * time.Hour
	MinTokenTTL     = time.Minute
	MaxTokenTTL     = 365 * 24 * time.Hour
)

// expiredTokensKept is how long an expired token stays listed (as expired)
// before the registry forgets it and its revocation by id.
const expiredTokensKept = 30 * 24 * time.Hour

// TokenRegistry is tokens.json. It never holds a token or anything a token
// could be rebuilt from: only the claims' id (jti), staff and times.
//
//	{"version":1,
//	 "tokens":[{"id":"q3Jx…","staff":201,"issued":"2026-03-02T09:00:00Z","expires":"2026-04-01T09:00:00Z"}],
//	 "revoked":[{"id":"q3Jx…","at":"2026-03-05T10:00:00Z","expires":"2026-04-01T09:00:00Z"}],
//	 "revoked_staff":[{"staff":203,"issued_until":"2026-03-05T10:00:00Z"}]}
//
// A staff revocation covers every token of that staff member issued at or
// before issued_until, including tokens issued before the registry existed.
type TokenRegistry struct {
	Version      int               `json:"version"`
	Tokens       []IssuedToken     `json:"tokens"`
	Revoked      []TokenRevocation `json:"revoked"`
	StaffRevoked []StaffRevocation `json:"revoked_staff"`
}

// IssuedToken is one issued token's claims.
type IssuedToken struct {
	ID      string    `json:"id"`
	Staff   int64     `json:"staff"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
}

// TokenRevocation revokes one token by id. Expires, when known, lets the
// registry forget the entry once the token is long dead anyway.
type TokenRevocation struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires,omitzero"`
}

// StaffRevocation revokes every token of Staff issued at or before
// IssuedUntil (second precision, as in the tokens' iat).
type StaffRevocation struct {
	Staff       int64     `json:"staff"`
	IssuedUntil time.Time `json:"issued_until"`
}

// IsRevoked reports whether the token with claims c is revoked.
func (r *TokenRegistry) IsRevoked(c Claims) bool {
	for _, rv := range r.Revoked {
		if rv.ID == c.ID {
			return true
		}
	}
	cut, ok := r.staffCutoff(c.Staff)
	return ok && c.Issued.Unix() <= cut.Unix()
}

func (r *TokenRegistry) staffCutoff(staff int64) (time.Time, bool) {
	for _, sr := range r.StaffRevoked {
		if sr.Staff == staff {
			return sr.IssuedUntil, true
		}
	}
	return time.Time{}, false
}

// Token finds an issued token by id.
func (r *TokenRegistry) Token(id string) (IssuedToken, bool) {
	for _, t := range r.Tokens {
		if t.ID == id {
			return t, true
		}
	}
	return IssuedToken{}, false
}

// prune forgets tokens, and revocations by id, that expired long ago: they
// are refused for their expiry anyway, and the file must not grow forever.
// Staff revocations are kept: they are one line per staff member.
func (r *TokenRegistry) prune(now time.Time) {
	old := func(exp time.Time) bool { return !exp.IsZero() && now.Sub(exp) > expiredTokensKept }
	r.Tokens = slices.DeleteFunc(r.Tokens, func(t IssuedToken) bool { return old(t.Expires) })
	r.Revoked = slices.DeleteFunc(r.Revoked, func(rv TokenRevocation) bool { return old(rv.Expires) })
}

// ParseTokenRegistry decodes tokens.json; empty data is an empty registry.
func ParseTokenRegistry(data []byte) (TokenRegistry, error) {
	var r TokenRegistry
	if len(data) == 0 {
		return TokenRegistry{Version: 1}, nil
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return TokenRegistry{}, fmt.Errorf("decoding the token registry: %w", err)
	}
	if r.Version != 1 {
		return TokenRegistry{}, fmt.Errorf("decoding the token registry: version %d, want 1", r.Version)
	}
	return r, nil
}

// ReadTokenRegistry reads dir's tokens.json; a missing file is an empty
// registry, a damaged one an error naming the file (never silently empty:
// that would lift every revocation).
func ReadTokenRegistry(dir string) (TokenRegistry, error) {
	path := filepath.Join(dir, TokensFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return TokenRegistry{Version: 1}, nil
	}
	if err != nil {
		return TokenRegistry{}, fmt.Errorf("reading %s: %w", path, err)
	}
	r, err := ParseTokenRegistry(data)
	if err != nil {
		return TokenRegistry{}, fmt.Errorf("%s is damaged (fix or restore it; deleting it lifts every revocation): %w", path, err)
	}
	return r, nil
}

// UpdateTokenRegistry changes dir's tokens.json under its lock: read,
// change, write atomically (0600). Concurrent token commands each see the
// other's change. If change fails nothing is written.
func UpdateTokenRegistry(dir string, now time.Time, change func(*TokenRegistry) error) error {
	path := filepath.Join(dir, TokensFileName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the state directory: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	r, err := ReadTokenRegistry(dir)
	if err != nil {
		return err
	}
	if err := change(&r); err != nil {
		return err
	}
	r.prune(now)
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the token registry: %w", err)
	}
	return atomicfile.Write(path, append(data, '\n'), 0o600)
}

// IssueToken signs a token for staff and records it in dir's registry. Its
// iat is at least one second after the staff member's revocation cut-off,
// so that a token issued in the very second of a `revoke --staff` is not
// caught by it. Nothing is printed or returned unless the record was saved.
func IssueToken(dir string, secret []byte, staff int64, now time.Time, ttl time.Duration) (string, Claims, error) {
	if err := CheckTokenTTL(ttl); err != nil {
		return "", Claims{}, err
	}
	var tok string
	var c Claims
	err := UpdateTokenRegistry(dir, now, func(r *TokenRegistry) error {
		issued := now.Truncate(time.Second)
		if cut, ok := r.staffCutoff(staff); ok && !issued.After(cut) {
			issued = cut.Truncate(time.Second).Add(time.Second)
		}
		var err error
		if tok, c, err = Issue(secret, staff, issued, ttl); err != nil {
			return fmt.Errorf("signing the token: %w", err)
		}
		r.Tokens = append(r.Tokens, IssuedToken{ID: c.ID, Staff: c.Staff, Issued: c.Issued, Expires: c.Expires})
		return nil
	})
	if err != nil {
		return "", Claims{}, err
	}
	return tok, c, nil
}

// RevokeToken revokes one token by id. The id must be in the registry or
// have been seen by the hub (known gives its claims then); an unknown id is
// refused, since a typo must not look like a successful revocation.
func RevokeToken(dir, id string, known func(id string) (Claims, bool), now time.Time) error {
	return UpdateTokenRegistry(dir, now, func(r *TokenRegistry) error {
		var expires time.Time
		if t, ok := r.Token(id); ok {
			expires = t.Expires
		} else if c, ok := known(id); ok {
			expires = c.Expires
		} else {
			return fmt.Errorf("no token with id %q is known (see 'omnitray-hub token list')", id)
		}
		for _, rv := range r.Revoked {
			if rv.ID == id {
				return nil // already revoked; revoking again changes nothing
			}
		}
		r.Revoked = append(r.Revoked, TokenRevocation{ID: id, At: now.UTC().Truncate(time.Second), Expires: expires})
		return nil
	})
}

// RevokeStaff revokes every token of staff issued up to now, those issued
// before the registry existed included.
func RevokeStaff(dir string, staff int64, now time.Time) error {
	if staff <= 0 {
		return errors.New("staff id must be positive")
	}
	cut := now.UTC().Truncate(time.Second)
	return UpdateTokenRegistry(dir, now, func(r *TokenRegistry) error {
		for i, sr := range r.StaffRevoked {
			if sr.Staff == staff {
				// A later cut-off covers the earlier one; never move it back.
				if cut.After(sr.IssuedUntil) {
					r.StaffRevoked[i].IssuedUntil = cut
				}
				return nil
			}
		}
		r.StaffRevoked = append(r.StaffRevoked, StaffRevocation{Staff: staff, IssuedUntil: cut})
		return nil
	})
}

// CheckTokenTTL refuses a token lifetime outside MinTokenTTL..MaxTokenTTL.
func CheckTokenTTL(ttl time.Duration) error {
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return fmt.Errorf("token lifetime %v is outside 1m..8760h (1 year)", ttl)
	}
	return nil
}

// ParseTokenTTL reads a --ttl value. The bounds are checked on the parsed
// duration before anything is added to it, and a value too large for a
// duration is refused by the parser rather than wrapped around.
func ParseTokenTTL(s string) (time.Duration, error) {
	const rangeText = "between 1m and 8760h (1 year), e.g. 720h"
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--ttl %q is not a duration %s", s, rangeText)
	}
	if d < MinTokenTTL || d > MaxTokenTTL {
		return 0, fmt.Errorf("--ttl %s is out of range: it must be %s", s, rangeText)
	}
	return d, nil
}
