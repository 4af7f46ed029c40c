package hub

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// tokenPrefix makes hub tokens recognisable (and greppable in a leak check).
const tokenPrefix = "omt1."

// MinSecretBytes is the shortest hub secret accepted: HMAC keys shorter than
// this are guessable offline from a single token.
const MinSecretBytes = 16

// Token errors, for errors.Is.
var (
	ErrTokenMalformed = errors.New("malformed token")
	ErrTokenSignature = errors.New("token signature does not match")
	ErrTokenExpired   = errors.New("token expired")
)

type claims struct {
	Version int    `json:"v"`
	Staff   int64  `json:"sub"`
	Issued  int64  `json:"iat"`
	Expires int64  `json:"exp"`
	Nonce   string `json:"jti"`
}

// CheckSecret refuses a secret too short to sign with.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretBytes {
		return fmt.Errorf("the hub secret must be at least %d bytes (32 random bytes recommended)", MinSecretBytes)
	}
	return nil
}

// Claims is what a verified token says: whose it is, its id (the jti, by
// which it is listed and revoked) and its lifetime, to the second.
type Claims struct {
	Staff   int64
	ID      string
	Issued  time.Time
	Expires time.Time
}

// Sign makes an agent token for one staff member, valid for ttl from now.
func Sign(secret []byte, staffID int64, now time.Time, ttl time.Duration) (string, error) {
	tok, _, err := Issue(secret, staffID, now, ttl)
	return tok, err
}

// Issue is Sign that also returns the new token's claims, for the registry.
func Issue(secret []byte, staffID int64, now time.Time, ttl time.Duration) (string, Claims, error) {
	if err := CheckSecret(secret); err != nil {
		return "", Claims{}, err
	}
	if staffID <= 0 {
		return "", Claims{}, fmt.Errorf("staff id must be positive")
	}
	if ttl <= 0 {
		return "", Claims{}, fmt.Errorf("token lifetime must be positive")
	}
	// The id is what `token revoke ID` takes: one starting with "-" would
	// read as a flag there (1 in 64 did), so such a draw is drawn again.
	var id string
	for id == "" || id[0] == '-' {
		nonce := make([]byte, 9)
		if _, err := rand.Read(nonce); err != nil {
			return "", Claims{}, fmt.Errorf("reading randomness: %w", err)
		}
		id = base64.RawURLEncoding.EncodeToString(nonce)
	}
	c := claims{Version: 1, Staff: staffID, Issued: now.Unix(),
		Expires: now.Add(ttl).Unix(), Nonce: id}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, fmt.Errorf("encoding token: %w", err)
	}
	body := base64.RawURLEncoding.EncodeToString(payload)
	return tokenPrefix + body + "." + mac(secret, body), c.public(), nil
}

// Verify checks a token's signature and expiry and returns its staff id.
func Verify(secret []byte, token string, now time.Time) (int64, error) {
	c, err := VerifyClaims(secret, token, now)
	return c.Staff, err
}

// VerifyClaims checks a token's signature and expiry and returns its claims.
func VerifyClaims(secret []byte, token string, now time.Time) (Claims, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(token) > 1024 {
		return Claims{}, ErrTokenMalformed
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok || body == "" || sig == "" {
		return Claims{}, ErrTokenMalformed
	}
	if !hmac.Equal([]byte(sig), []byte(mac(secret, body))) {
		return Claims{}, ErrTokenSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Claims{}, ErrTokenMalformed
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil || c.Version != 1 || c.Staff <= 0 {
		return Claims{}, ErrTokenMalformed
	}
	if now.Unix() >= c.Expires {
		return Claims{}, ErrTokenExpired
	}
	return c.public(), nil
}

func (c claims) public() Claims {
	return Claims{Staff: c.Staff, ID: c.Nonce, Issued: time.Unix(c.Issued, 0).UTC(),
		Expires: time.Unix(c.Expires, 0).UTC()}
}

func mac(secret []byte, body string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("omnitray-agent-token\x00" + body))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
