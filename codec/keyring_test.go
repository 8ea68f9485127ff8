package codec_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/codec"
)

func TestParseKeyRingValid(t *testing.T) {
	raw := randomBytes(t, 32)
	std := base64.StdEncoding.EncodeToString(raw)
	sum := sha256.Sum256(raw)
	derived := hex.EncodeToString(sum[:])[:8]

	t.Run("bare key gets derived id", func(t *testing.T) {
		kr := ring(t, std)
		assert.Equal(t, derived, kr.ActiveID())
		assert.Len(t, kr.ActiveID(), 8)
		assert.Equal(t, []string{derived}, kr.IDs())
	})

	t.Run("surrounding whitespace and newline", func(t *testing.T) {
		assert.Equal(t, derived, ring(t, "  "+std+"\n").ActiveID())
	})

	t.Run("url-safe and unpadded base64", func(t *testing.T) {
		assert.Equal(t, derived, ring(t, base64.RawURLEncoding.EncodeToString(raw)).ActiveID())
		assert.Equal(t, derived, ring(t, base64.RawStdEncoding.EncodeToString(raw)).ActiveID())
	})

	t.Run("list: first is active", func(t *testing.T) {
		kr := ring(t, "new:"+newKey(t)+" , old:"+std)
		assert.Equal(t, "new", kr.ActiveID())
		assert.Equal(t, []string{"new", "old"}, kr.IDs())
	})

	t.Run("single id:key entry", func(t *testing.T) {
		assert.Equal(t, "prod-2025.01_a", ring(t, "prod-2025.01_a:"+std).ActiveID())
	})

	t.Run("list entry without id gets derived id", func(t *testing.T) {
		kr := ring(t, "new:"+newKey(t)+","+std)
		assert.Equal(t, []string{"new", derived}, kr.IDs())
	})

	t.Run("same id is stable across parses", func(t *testing.T) {
		assert.Equal(t, ring(t, std).ActiveID(), ring(t, std).ActiveID())
	})
}

func TestParseKeyRingErrors(t *testing.T) {
	good := newKey(t)
	good2 := newKey(t)
	short := base64.StdEncoding.EncodeToString(randomBytes(t, 16))
	long := base64.StdEncoding.EncodeToString(randomBytes(t, 48))
	notB64 := "this-is!!not*base64$$" + good[:10]

	cases := []struct {
		name    string
		spec    string
		want    []string // substrings the error must contain
		secrets []string // strings the error must NOT contain
	}{
		{"empty", "", []string{"empty", "CONNECTOR_ENCRYPTION_KEY", "openssl rand -base64 32"}, nil},
		{"whitespace only", "  \n\t", []string{"empty"}, nil},
		{"not base64", notB64, []string{"not valid base64", "openssl rand -base64 32", "head -c32 /dev/urandom | base64"}, []string{notB64, good[:10]}},
		{"16 bytes", short, []string{"16 bytes", "32", "openssl rand -base64 32"}, []string{short}},
		{"48 bytes", long, []string{"48 bytes"}, []string{long}},
		{"zero bytes after id", "k1:", []string{"empty key", "openssl"}, nil},
		{"wrong length in list", "a:" + good + ",b:" + short, []string{"entry #2 of 2", "16 bytes"}, []string{good, short}},
		{"not base64 in list", "a:" + good + ",b:" + notB64, []string{"entry #2", "not valid base64"}, []string{good, notB64}},
		{"duplicate ids", "a:" + good + ",b:" + good2 + ",a:" + good2, []string{"#1 and #3", "same key id", "unique"}, []string{good, good2}},
		{"duplicate bare keys", good + "," + good, []string{"#1 and #2", "same key id"}, []string{good}},
		{"trailing comma", "a:" + good + ",", []string{"entry #2 of 2 is empty"}, []string{good}},
		{"leading comma", ",a:" + good, []string{"entry #1 of 2 is empty"}, []string{good}},
		{"empty id", ":" + good, []string{"empty key id"}, []string{good}},
		{"invalid id chars", "bad id!:" + good, []string{"invalid key id"}, []string{good, "bad id!"}},
		{"id too long", strings.Repeat("x", 65) + ":" + good, []string{"invalid key id", "64"}, []string{good}},
		// A user swapping the order ("key:id") must not see the key echoed back.
		{"reversed key:id", good + ":prod", []string{"invalid key id"}, []string{good, good[:20]}},
		{"key material as id", good2[:40] + "+/:" + good, []string{"invalid key id"}, []string{good, good2[:40]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := codec.ParseKeyRing(tc.spec)
			require.Error(t, err)
			assert.Nil(t, kr)
			msg := err.Error()
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
			for _, s := range tc.secrets {
				assert.NotContains(t, msg, s, "error leaks input material")
			}
			// Also: no 16+ char run of the spec's non-trivial content is echoed.
			for _, part := range strings.FieldsFunc(tc.spec, func(r rune) bool { return r == ',' || r == ':' }) {
				part = strings.TrimSpace(part)
				if len(part) >= 16 {
					assert.NotContains(t, msg, part[:16])
				}
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := codec.GenerateKey()
	require.NoError(t, err)
	b, err := codec.GenerateKey()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	raw, err := base64.StdEncoding.DecodeString(a)
	require.NoError(t, err)
	assert.Len(t, raw, 32)
	_, err = codec.ParseKeyRing(a)
	require.NoError(t, err)
}

func TestKeyRingPrintingHidesKeys(t *testing.T) {
	raw := randomBytes(t, 32)
	b64 := base64.StdEncoding.EncodeToString(raw)
	kr := ring(t, "main:"+b64)
	for _, s := range []string{
		fmt.Sprint(kr), fmt.Sprintf("%+v", kr), fmt.Sprintf("%#v", kr),
		fmt.Sprint(*kr), fmt.Sprintf("%+v", *kr), fmt.Sprintf("%#v", *kr),
	} {
		assert.Contains(t, s, "main")
		assert.NotContains(t, s, b64)
		assert.NotContains(t, s, string(raw))
		assert.NotContains(t, s, hex.EncodeToString(raw))
	}
}

func TestFingerprint(t *testing.T) {
	token := "eyJraWQiOiJ0b2tlblNpZ25pbmciLCJhbGciOiJFUzI1NiJ9.secret"
	fp := codec.Fingerprint(token)
	sum := sha256.Sum256([]byte(token))
	assert.Equal(t, "s1tok_"+hex.EncodeToString(sum[:])[:8], fp)
	assert.Len(t, fp, len("s1tok_")+8)
	assert.Equal(t, fp, codec.Fingerprint(token))
	assert.NotEqual(t, fp, codec.Fingerprint(token+"x"))
	assert.NotContains(t, fp, token[:8])
	// Known vector: sha256("") = e3b0c442...
	assert.Equal(t, "s1tok_e3b0c442", codec.Fingerprint(""))
}
