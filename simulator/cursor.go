package simulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
)

// key is a keyset position: the primary sort value (unix micros for
// timestamps, the ID itself for id) and the ID as tie-breaker.
type key struct{ v, id int64 }

// cmp orders keys by value, then ID.
func (a key) cmp(b key) int {
	switch {
	case a.v < b.v:
		return -1
	case a.v > b.v:
		return 1
	case a.id < b.id:
		return -1
	case a.id > b.id:
		return 1
	}
	return 0
}

// cursorData is the self-contained content of an opaque cursor: where the
// walk is (sort, direction, last key) and which query it belongs to (path,
// canonical filters and their hash), so a client may send only the cursor on
// later pages (Rapid7 style) or re-send identical filters (Elastic style).
type cursorData struct {
	Path    string `json:"p"`
	Sort    string `json:"s"`
	Desc    bool   `json:"d,omitempty"`
	V       int64  `json:"k"`
	ID      int64  `json:"i"`
	Filters string `json:"f,omitempty"`
	Hash    string `json:"h"`
}

const macLen = 12

// filterHash is a short hash of canonical filters.
func filterHash(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return hex.EncodeToString(sum[:8])
}

func (s *Simulator) cursorMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}

// encodeCursor returns base64url(json || mac).
func (s *Simulator) encodeCursor(c cursorData) string {
	payload, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(append(payload, s.cursorMAC(payload)...))
}

// decodeCursor verifies and decodes a cursor issued for path. Tampered,
// foreign or garbled cursors are rejected.
func (s *Simulator) decodeCursor(raw, path string) (cursorData, bool) {
	var c cursorData
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		// Tolerate padded/standard encodings of the same bytes.
		if b, err = base64.URLEncoding.DecodeString(raw); err != nil {
			return c, false
		}
	}
	if len(b) <= macLen {
		return c, false
	}
	payload, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(mac, s.cursorMAC(payload)) {
		return c, false
	}
	if json.Unmarshal(payload, &c) != nil || c.Path != path || c.Hash != filterHash(c.Filters) {
		return c, false
	}
	return c, true
}
