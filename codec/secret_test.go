package codec_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSealOpenRoundTrip(t *testing.T) {
	kr := ring(t, "k1:"+newKey(t))
	token := []byte("s1-api-token-SECRET-0123456789")

	sealed, err := kr.Seal(token, "conn-42")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(sealed, "v1:k1:"), sealed)
	assert.NotContains(t, sealed, "SECRET")
	parts := strings.SplitN(sealed, ":", 3)
	require.Len(t, parts, 3)
	_, err = base64.StdEncoding.DecodeString(parts[2])
	require.NoError(t, err)

	got, err := kr.Open(sealed, "conn-42")
	require.NoError(t, err)
	assert.Equal(t, token, got)

	again, err := kr.Seal(token, "conn-42")
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "nonce must be random")

	t.Run("empty plaintext and empty aad", func(t *testing.T) {
		s, err := kr.Seal(nil, "")
		require.NoError(t, err)
		got, err := kr.Open(s, "")
		require.NoError(t, err)
		assert.Empty(t, got)
	})
}

func TestOpenAADMismatch(t *testing.T) {
	kr := ring(t, "k1:"+newKey(t))
	sealed, err := kr.Seal([]byte("token"), "conn-1")
	require.NoError(t, err)

	for _, aad := range []string{"conn-2", "", "conn-1 ", "CONN-1"} {
		_, err := kr.Open(sealed, aad)
		require.Error(t, err, "aad %q", aad)
		assert.Contains(t, err.Error(), "authentication failed")
		assert.NotContains(t, err.Error(), "token")
	}
}

func TestSealKeyRotation(t *testing.T) {
	oldKey, newK := newKey(t), newKey(t)
	old := ring(t, "old:"+oldKey)
	sealedOld, err := old.Seal([]byte("legacy"), "c")
	require.NoError(t, err)

	rotated := ring(t, "new:"+newK+",old:"+oldKey)
	got, err := rotated.Open(sealedOld, "c")
	require.NoError(t, err)
	assert.Equal(t, "legacy", string(got))

	// Re-seal under the active key (what a re-encryption job would do).
	resealed, err := rotated.Seal(got, "c")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(resealed, "v1:new:"))

	onlyNew := ring(t, "new:"+newK)
	got, err = onlyNew.Open(resealed, "c")
	require.NoError(t, err)
	assert.Equal(t, "legacy", string(got))

	_, err = onlyNew.Open(sealedOld, "c")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"old"`)
	assert.Contains(t, err.Error(), "not in the key ring")

	// Same id, different key material.
	_, err = ring(t, "old:"+newK).Open(sealedOld, "c")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "authentication failed")
}

func TestOpenMalformed(t *testing.T) {
	kr := ring(t, "k1:"+newKey(t))
	sealed, err := kr.Seal([]byte("token"), "c")
	require.NoError(t, err)
	parts := strings.SplitN(sealed, ":", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return "v1:k1:" + base64.StdEncoding.EncodeToString(b)
	}

	cases := map[string]struct{ in, want string }{
		"empty":              {"", "not a sealed value"},
		"plaintext token":    {"my-plain-token", "not a sealed value"},
		"wrong version":      {"v2:" + parts[1] + ":" + parts[2], "not a sealed value"},
		"missing ciphertext": {"v1:k1", "malformed"},
		"empty id":           {"v1::" + parts[2], "malformed"},
		"unknown id":         {"v1:zz:" + parts[2], "not in the key ring"},
		"bad base64":         {"v1:k1:!!!", "not valid base64"},
		"truncated":          {"v1:k1:" + base64.StdEncoding.EncodeToString(raw[:20]), "truncated"},
		"flipped nonce":      {flip(0), "authentication failed"},
		"flipped ciphertext": {flip(13), "authentication failed"},
		"flipped tag":        {flip(len(raw) - 1), "authentication failed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := kr.Open(tc.in, "c")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestOpenKeyIDIsAuthenticated(t *testing.T) {
	// k1 and k2 share key material; relabelling a sealed value with the
	// other id must still fail because the id is bound into the AAD.
	k := newKey(t)
	kr := ring(t, "k1:"+k+",k2:"+k)
	sealed, err := kr.Seal([]byte("token"), "c")
	require.NoError(t, err)
	relabelled := "v1:k2:" + strings.SplitN(sealed, ":", 3)[2]
	_, err = kr.Open(relabelled, "c")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "authentication failed")
}
