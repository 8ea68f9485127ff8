package codec_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelone-connector/s1conn/codec"
)

// newKey returns a fresh base64 key.
func newKey(t *testing.T) string {
	t.Helper()
	k, err := codec.GenerateKey()
	require.NoError(t, err)
	return k
}

func ring(t *testing.T, spec string) *codec.KeyRing {
	t.Helper()
	kr, err := codec.ParseKeyRing(spec)
	require.NoError(t, err)
	return kr
}

type threat struct {
	ID         string            `json:"id"`
	AgentName  string            `json:"agentName"`
	Confidence int               `json:"confidence"`
	Tags       []string          `json:"tags"`
	Extra      map[string]string `json:"extra"`
	Nested     *threat           `json:"nested,omitempty"`
}

func TestDataConverterRoundTrip(t *testing.T) {
	kr := ring(t, "k1:"+newKey(t))
	dc := codec.NewDataConverter(kr)

	large := strings.Repeat("SECRET-LARGE-", 200_000) // ~2.6 MB
	in := threat{
		ID: "threat-SECRET-123", AgentName: "host-SECRET", Confidence: 97,
		Tags: []string{"malware"}, Extra: map[string]string{"sha1": "abc"},
		Nested: &threat{ID: "child"},
	}

	t.Run("string", func(t *testing.T) {
		p, err := dc.ToPayload("hello SECRET world")
		require.NoError(t, err)
		assertEncrypted(t, p, "k1", "hello SECRET world")
		var out string
		require.NoError(t, dc.FromPayload(p, &out))
		assert.Equal(t, "hello SECRET world", out)
	})

	t.Run("struct", func(t *testing.T) {
		p, err := dc.ToPayload(in)
		require.NoError(t, err)
		assertEncrypted(t, p, "k1", "threat-SECRET-123")
		var out threat
		require.NoError(t, dc.FromPayload(p, &out))
		assert.Equal(t, in, out)
	})

	t.Run("nil value", func(t *testing.T) {
		p, err := dc.ToPayload(nil)
		require.NoError(t, err)
		assertEncrypted(t, p, "k1", "binary/null")
		out := &threat{ID: "preset"}
		require.NoError(t, dc.FromPayload(p, &out))
		assert.Nil(t, out)
	})

	t.Run("nil and empty payload lists", func(t *testing.T) {
		ps, err := dc.ToPayloads()
		require.NoError(t, err)
		require.NoError(t, dc.FromPayloads(ps))

		pc := codec.NewPayloadCodec(kr)
		enc, err := pc.Encode(nil)
		require.NoError(t, err)
		assert.Empty(t, enc)
		dec, err := pc.Decode(nil)
		require.NoError(t, err)
		assert.Empty(t, dec)

		// A nil element is preserved, not dereferenced.
		enc, err = pc.Encode([]*commonpb.Payload{nil})
		require.NoError(t, err)
		require.Len(t, enc, 1)
		assert.Nil(t, enc[0])
		dec, err = pc.Decode([]*commonpb.Payload{nil})
		require.NoError(t, err)
		require.Len(t, dec, 1)
		assert.Nil(t, dec[0])
	})

	t.Run("large", func(t *testing.T) {
		p, err := dc.ToPayload(large)
		require.NoError(t, err)
		assertEncrypted(t, p, "k1", "SECRET-LARGE-")
		var out string
		require.NoError(t, dc.FromPayload(p, &out))
		assert.Equal(t, large, out)
	})

	t.Run("multiple payloads", func(t *testing.T) {
		ps, err := dc.ToPayloads("a-SECRET", 42, in, nil)
		require.NoError(t, err)
		require.Len(t, ps.GetPayloads(), 4)
		for _, p := range ps.GetPayloads() {
			assertEncrypted(t, p, "k1", "SECRET")
		}
		var (
			s  string
			n  int
			st threat
			np *threat
		)
		require.NoError(t, dc.FromPayloads(ps, &s, &n, &st, &np))
		assert.Equal(t, "a-SECRET", s)
		assert.Equal(t, 42, n)
		assert.Equal(t, in, st)
		assert.Nil(t, np)
	})

	t.Run("ciphertexts are randomised", func(t *testing.T) {
		a, err := dc.ToPayload("same")
		require.NoError(t, err)
		b, err := dc.ToPayload("same")
		require.NoError(t, err)
		assert.NotEqual(t, a.GetData(), b.GetData())
	})
}

// assertEncrypted checks the codec's metadata and that neither the plaintext
// nor the inner metadata is visible anywhere in the serialized payload.
func assertEncrypted(t *testing.T, p *commonpb.Payload, keyID, plaintext string) {
	t.Helper()
	require.NotNil(t, p)
	assert.Equal(t, "binary/encrypted", string(p.GetMetadata()["encoding"]))
	assert.Equal(t, keyID, string(p.GetMetadata()["encryption-key-id"]))
	assert.Len(t, p.GetMetadata(), 2, "only encoding and key id may be in clear metadata")
	wire, err := proto.Marshal(p)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(wire, []byte(plaintext)), "plaintext %q visible in encoded payload", plaintext)
	for _, inner := range []string{"json/plain", "binary/null"} {
		assert.False(t, bytes.Contains(wire, []byte(inner)), "inner encoding %q visible in encoded payload", inner)
	}
}

func TestWrongKey(t *testing.T) {
	keyA, keyB := newKey(t), newKey(t)
	p, err := codec.NewDataConverter(ring(t, "a:"+keyA)).ToPayload("secret")
	require.NoError(t, err)

	t.Run("unknown key id", func(t *testing.T) {
		var out string
		err := codec.NewDataConverter(ring(t, "b:"+keyB)).FromPayload(p, &out)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"a"`)
		assert.Contains(t, err.Error(), "not in the key ring")
		assert.NotContains(t, err.Error(), keyA)
		assert.NotContains(t, err.Error(), keyB)
	})

	t.Run("same id different key", func(t *testing.T) {
		var out string
		err := codec.NewDataConverter(ring(t, "a:"+keyB)).FromPayload(p, &out)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "authentication failed")
		assert.NotContains(t, err.Error(), keyA)
		assert.NotContains(t, err.Error(), keyB)
	})
}

func TestKeyRotation(t *testing.T) {
	oldKey, newK := newKey(t), newKey(t)
	oldDC := codec.NewDataConverter(ring(t, "2024:"+oldKey))
	oldPayload, err := oldDC.ToPayload("written before rotation")
	require.NoError(t, err)

	rotated := ring(t, "2025:"+newK+",2024:"+oldKey)
	assert.Equal(t, "2025", rotated.ActiveID())
	assert.Equal(t, []string{"2025", "2024"}, rotated.IDs())
	rotDC := codec.NewDataConverter(rotated)

	var out string
	require.NoError(t, rotDC.FromPayload(oldPayload, &out))
	assert.Equal(t, "written before rotation", out)

	newPayload, err := rotDC.ToPayload("written after rotation")
	require.NoError(t, err)
	assert.Equal(t, "2025", string(newPayload.GetMetadata()["encryption-key-id"]))

	// Once the old key is dropped, old payloads fail with a clear error.
	dropped := codec.NewDataConverter(ring(t, "2025:"+newK))
	require.NoError(t, dropped.FromPayload(newPayload, &out))
	err = dropped.FromPayload(oldPayload, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"2024"`)
}

func TestUnencryptedPassThrough(t *testing.T) {
	kr := ring(t, newKey(t))
	pc := codec.NewPayloadCodec(kr)
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]int{"x": 1})
	require.NoError(t, err)
	foreign := &commonpb.Payload{
		Metadata: map[string][]byte{"encoding": []byte("binary/zlib")},
		Data:     []byte{1, 2, 3},
	}
	noMeta := &commonpb.Payload{Data: []byte("raw")}

	out, err := pc.Decode([]*commonpb.Payload{plain, foreign, noMeta})
	require.NoError(t, err)
	require.Len(t, out, 3)
	assert.True(t, proto.Equal(plain, out[0]))
	assert.True(t, proto.Equal(foreign, out[1]))
	assert.True(t, proto.Equal(noMeta, out[2]))

	// Through the full converter: history written before encryption was
	// enabled still decodes.
	var m map[string]int
	require.NoError(t, codec.NewDataConverter(kr).FromPayload(plain, &m))
	assert.Equal(t, map[string]int{"x": 1}, m)
}

func TestTamperedPayload(t *testing.T) {
	kr := ring(t, "k:"+newKey(t))
	pc := codec.NewPayloadCodec(kr)
	src, err := converter.GetDefaultDataConverter().ToPayload("tamper me")
	require.NoError(t, err)
	enc, err := pc.Encode([]*commonpb.Payload{src})
	require.NoError(t, err)
	good := enc[0]

	mutate := func(f func(p *commonpb.Payload)) *commonpb.Payload {
		c := proto.Clone(good).(*commonpb.Payload)
		f(c)
		return c
	}
	cases := map[string]struct {
		p       *commonpb.Payload
		wantErr string
	}{
		"flipped ciphertext byte": {mutate(func(p *commonpb.Payload) { p.Data[len(p.Data)/2] ^= 0x01 }), "authentication failed"},
		"flipped nonce byte":      {mutate(func(p *commonpb.Payload) { p.Data[0] ^= 0x80 }), "authentication failed"},
		"flipped tag byte":        {mutate(func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 0x01 }), "authentication failed"},
		"truncated":               {mutate(func(p *commonpb.Payload) { p.Data = p.Data[:10] }), "truncated"},
		"empty data":              {mutate(func(p *commonpb.Payload) { p.Data = nil }), "truncated"},
		"appended byte":           {mutate(func(p *commonpb.Payload) { p.Data = append(p.Data, 0) }), "authentication failed"},
		"missing key id":          {mutate(func(p *commonpb.Payload) { delete(p.Metadata, "encryption-key-id") }), "encryption-key-id"},
		"unknown key id":          {mutate(func(p *commonpb.Payload) { p.Metadata["encryption-key-id"] = []byte("other") }), "not in the key ring"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := pc.Decode([]*commonpb.Payload{tc.p})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}

	// The untouched payload still decodes.
	dec, err := pc.Decode([]*commonpb.Payload{good})
	require.NoError(t, err)
	assert.True(t, proto.Equal(src, dec[0]))
}

func TestSealedSecretIsNotAPayload(t *testing.T) {
	// Domain separation: a sealed secret's bytes cannot be passed off as an
	// encrypted payload under the same key.
	kr := ring(t, "k:"+newKey(t))
	sealed, err := kr.Seal([]byte("token"), "")
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(strings.SplitN(sealed, ":", 3)[2])
	require.NoError(t, err)
	_, err = codec.NewPayloadCodec(kr).Decode([]*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("binary/encrypted"), "encryption-key-id": []byte("k")},
		Data:     raw,
	}})
	require.Error(t, err)
}

func TestConcurrentUse(t *testing.T) {
	kr := ring(t, newKey(t))
	dc := codec.NewDataConverter(kr)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				want := strings.Repeat("x", i*j)
				p, err := dc.ToPayload(want)
				if !assert.NoError(t, err) {
					return
				}
				var got string
				if !assert.NoError(t, dc.FromPayload(p, &got)) || !assert.Equal(t, want, got) {
					return
				}
				s, err := kr.Seal([]byte(want), "conn")
				if !assert.NoError(t, err) {
					return
				}
				o, err := kr.Open(s, "conn")
				if !assert.NoError(t, err) || !assert.Equal(t, want, string(o)) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewPayloadCodecNilPanics(t *testing.T) {
	assert.Panics(t, func() { codec.NewPayloadCodec(nil) })
}

// randomBytes is used by key-ring tests to build wrong-length keys.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}
