// Package codec holds the connector's encryption primitives:
//
//   - KeyRing: AES-256 keys parsed from CONNECTOR_ENCRYPTION_KEY, with an
//     active key for encryption and older keys kept for decryption (rotation);
//   - a Temporal converter.PayloadCodec (AES-256-GCM) and DataConverter so
//     workflow/activity payloads (which carry SentinelOne security data) are
//     encrypted before they reach the Temporal server;
//   - an HTTP codec server handler for the Temporal Web UI and CLI;
//   - Seal/Open for secrets at rest (API tokens stored in the database);
//   - Fingerprint, a display-safe identifier for API tokens.
//
// Key material is never included in errors or in the String/GoString output
// of a KeyRing.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the required key length in bytes (AES-256).
const KeySize = 32

// maxKeyIDLen bounds key ids; they are stored in every payload's metadata and
// in every sealed secret.
const maxKeyIDLen = 64

// keyGenHint is appended to errors about malformed keys.
const keyGenHint = "generate a key with `openssl rand -base64 32` or `head -c32 /dev/urandom | base64`"

// KeyRing is an ordered set of AES-256 keys. The first key is the active key
// used for all new encryption; every key is accepted for decryption so that
// data encrypted before a key rotation stays readable.
//
// A KeyRing is immutable after ParseKeyRing and safe for concurrent use.
type KeyRing struct {
	activeID string
	ids      []string // in spec order, active first
	aeads    map[string]cipher.AEAD
}

// ParseKeyRing parses a key specification, normally the value of
// CONNECTOR_ENCRYPTION_KEY. Accepted forms:
//
//	<base64 key>                        one key; id = first 8 hex chars of sha256(raw key bytes)
//	id1:<base64 key>,id2:<base64 key>   several keys; the FIRST is active, all decrypt
//
// In the list form an entry without "id:" gets the derived id as well.
// Keys must decode (standard or URL-safe base64, padded or not) to exactly 32
// bytes. Ids may contain only letters, digits, '.', '_' and '-' (at most 64
// characters) and must be unique. Errors identify entries by position and
// never contain key material.
func ParseKeyRing(spec string) (*KeyRing, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("encryption key is empty: set CONNECTOR_ENCRYPTION_KEY to a base64-encoded 32-byte key " +
			"(or a comma-separated list id1:key1,id2:key2 where the first is active); " + keyGenHint)
	}

	entries := strings.Split(spec, ",")
	multi := len(entries) > 1
	kr := &KeyRing{aeads: make(map[string]cipher.AEAD, len(entries))}
	seen := make(map[string]int, len(entries)) // id -> 1-based entry position

	for i, entry := range entries {
		pos := i + 1
		where := "encryption key"
		if multi {
			where = fmt.Sprintf("encryption key entry #%d of %d", pos, len(entries))
		}
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("%s is empty (stray or trailing comma?); expected id:base64key", where)
		}

		id, b64, hasID := strings.Cut(entry, ":")
		if hasID {
			id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
			if id == "" {
				return nil, fmt.Errorf("%s has an empty key id before ':'; expected id:base64key", where)
			}
			if !validKeyID(id) {
				// The id is deliberately not echoed: a misplaced key could end up here.
				return nil, fmt.Errorf("%s has an invalid key id: ids may contain only letters, digits, '.', '_' and '-' "+
					"and be at most %d characters; expected id:base64key", where, maxKeyIDLen)
			}
			if b64 == "" {
				return nil, fmt.Errorf("%s has an empty key after ':'; %s", where, keyGenHint)
			}
		} else {
			b64 = entry
		}

		key, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("%s is not valid base64; %s", where, keyGenHint)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%s decodes to %d bytes but AES-256 needs exactly %d; %s",
				where, len(key), KeySize, keyGenHint)
		}
		if !hasID {
			id = derivedKeyID(key)
		}
		if prev, dup := seen[id]; dup {
			if hasID {
				return nil, fmt.Errorf("encryption key entries #%d and #%d use the same key id; key ids must be unique", prev, pos)
			}
			return nil, fmt.Errorf("encryption key entries #%d and #%d resolve to the same key id (same key listed twice?); key ids must be unique", prev, pos)
		}
		seen[id] = pos

		aead, err := newAEAD(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		kr.ids = append(kr.ids, id)
		kr.aeads[id] = aead
	}
	kr.activeID = kr.ids[0]
	return kr, nil
}

// GenerateKey returns a new random 32-byte key, base64 (standard, padded)
// encoded, suitable for CONNECTOR_ENCRYPTION_KEY.
func GenerateKey() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate encryption key: %w", err)
	}
	s := base64.StdEncoding.EncodeToString(key)
	clear(key)
	return s, nil
}

// ActiveID returns the id of the key used for new encryption.
func (k *KeyRing) ActiveID() string { return k.activeID }

// IDs returns all key ids in the ring, active first.
func (k *KeyRing) IDs() []string { return append([]string(nil), k.ids...) }

// String describes the ring without key material.
// Value receivers make both KeyRing and *KeyRing print safely.
func (k KeyRing) String() string {
	return fmt.Sprintf("KeyRing{active: %s, ids: [%s]}", k.activeID, strings.Join(k.ids, " "))
}

// GoString makes %#v as safe as %v.
func (k KeyRing) GoString() string { return k.String() }

// aead returns the AEAD for a key id or an actionable error.
func (k *KeyRing) aead(id string) (cipher.AEAD, error) {
	if a, ok := k.aeads[id]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("encryption key id %q is not in the key ring (known ids: %s); if the key was rotated out, "+
		"add it back to CONNECTOR_ENCRYPTION_KEY as a non-first entry (id:base64key) so old data can be decrypted",
		truncateID(id), strings.Join(k.ids, ", "))
}

// Fingerprint returns a display-safe identifier for an API token:
// "s1tok_" followed by the first 8 hex characters of sha256(token).
func Fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "s1tok_" + hex.EncodeToString(sum[:4])
}

func derivedKeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errors.New("cannot initialise AES cipher")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errors.New("cannot initialise AES-GCM")
	}
	return aead, nil
}

// decodeKey accepts standard and URL-safe base64, with or without padding.
func decodeKey(s string) ([]byte, error) {
	var lastErr error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// truncateID bounds ids taken from untrusted input (payload metadata, sealed
// strings) before they are put in error messages.
func truncateID(id string) string {
	if len(id) > maxKeyIDLen {
		return id[:maxKeyIDLen] + "…"
	}
	return id
}
