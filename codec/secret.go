package codec

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const sealedVersion = "v1"

// secretAADPrefix separates Seal ciphertexts from payload ciphertexts.
const secretAADPrefix = "s1conn/secret/v1"

// Seal encrypts plaintext (e.g. a SentinelOne API token) with the active key
// and returns "v1:<keyid>:<base64(nonce|ciphertext)>" (standard base64).
//
// aad is a context string, typically the connection id, that is
// authenticated but not stored: Open must be given the same value, so a
// sealed value copied to another row fails to open. The key id is
// authenticated as well.
func (k *KeyRing) Seal(plaintext []byte, aad string) (string, error) {
	id := k.activeID
	aead := k.aeads[id]
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("seal secret: nonce: %w", err)
	}
	buf = aead.Seal(buf, buf, plaintext, secretAAD(id, aad))
	return sealedVersion + ":" + id + ":" + base64.StdEncoding.EncodeToString(buf), nil
}

// Open reverses Seal. It accepts values sealed with any key in the ring and
// fails if the value was modified, sealed under a different aad, or sealed
// with a key that is not in the ring.
func (k *KeyRing) Open(sealed string, aad string) ([]byte, error) {
	version, rest, ok := strings.Cut(sealed, ":")
	if !ok || version != sealedVersion {
		return nil, errors.New("open secret: not a sealed value (expected format v1:<keyid>:<base64>)")
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok || id == "" {
		return nil, errors.New("open secret: malformed sealed value (expected format v1:<keyid>:<base64>)")
	}
	aead, err := k.aead(id)
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	buf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("open secret: ciphertext is not valid base64")
	}
	if len(buf) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("open secret: ciphertext is truncated")
	}
	plain, err := aead.Open(nil, buf[:aead.NonceSize()], buf[aead.NonceSize():], secretAAD(id, aad))
	if err != nil {
		return nil, fmt.Errorf("open secret: authentication failed with key id %q: "+
			"the value was tampered with, belongs to a different context (aad), or the key for this id changed", truncateID(id))
	}
	return plain, nil
}

// secretAAD binds domain, key id and caller context. Key ids cannot contain
// NUL, so the encoding is unambiguous.
func secretAAD(id, aad string) []byte {
	b := make([]byte, 0, len(secretAADPrefix)+len(id)+len(aad)+2)
	b = append(b, secretAADPrefix...)
	b = append(b, 0)
	b = append(b, id...)
	b = append(b, 0)
	b = append(b, aad...)
	return b
}
