package codec

import (
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const (
	// MetadataEncodingEncrypted is the "encoding" metadata value of payloads
	// produced by the PayloadCodec.
	MetadataEncodingEncrypted = "binary/encrypted"
	// MetadataEncryptionKeyID is the metadata key holding the id of the key
	// that sealed the payload.
	MetadataEncryptionKeyID = "encryption-key-id"

	metadataEncoding = converter.MetadataEncoding // "encoding"
)

// payloadAAD separates payload ciphertexts from Seal ciphertexts made with
// the same keys, so one can never be substituted for the other.
var payloadAAD = []byte("s1conn/temporal-payload/v1")

// payloadCodec encrypts whole Temporal payloads (metadata and data,
// proto-marshalled) with AES-256-GCM using the key ring's active key.
type payloadCodec struct {
	keys *KeyRing
}

var _ converter.PayloadCodec = (*payloadCodec)(nil)

// NewPayloadCodec returns an AES-256-GCM converter.PayloadCodec. Encoded
// payloads carry metadata encoding="binary/encrypted" and
// encryption-key-id=<id>; data is nonce(12) | ciphertext+tag. Decode passes
// payloads that are not encrypted through unchanged and decrypts with any key
// in the ring. It panics if k is nil.
func NewPayloadCodec(k *KeyRing) converter.PayloadCodec {
	if k == nil {
		panic("codec.NewPayloadCodec: nil *KeyRing")
	}
	return &payloadCodec{keys: k}
}

// NewDataConverter wraps the SDK default DataConverter with the encryption
// codec. Use the same converter on every client (workers, starters, CLI).
func NewDataConverter(k *KeyRing) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewPayloadCodec(k))
}

// Encode implements converter.PayloadCodec.
func (c *payloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	id := c.keys.activeID
	aead := c.keys.aeads[id]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := p.Marshal()
		if err != nil {
			return payloads, fmt.Errorf("encrypt payload %d: marshal: %w", i, err)
		}
		data := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(data); err != nil {
			return payloads, fmt.Errorf("encrypt payload %d: nonce: %w", i, err)
		}
		data = aead.Seal(data, data, plain, payloadAAD)
		clear(plain)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				metadataEncoding:        []byte(MetadataEncodingEncrypted),
				MetadataEncryptionKeyID: []byte(id),
			},
			Data: data,
		}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec.
func (c *payloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil || string(p.GetMetadata()[metadataEncoding]) != MetadataEncodingEncrypted {
			out[i] = p // not ours: pass through
			continue
		}
		dec, err := c.decodeOne(p)
		if err != nil {
			return payloads, fmt.Errorf("decrypt payload %d: %w", i, err)
		}
		out[i] = dec
	}
	return out, nil
}

func (c *payloadCodec) decodeOne(p *commonpb.Payload) (*commonpb.Payload, error) {
	rawID, ok := p.GetMetadata()[MetadataEncryptionKeyID]
	if !ok || len(rawID) == 0 {
		return nil, fmt.Errorf("payload is %s but has no %q metadata", MetadataEncodingEncrypted, MetadataEncryptionKeyID)
	}
	id := string(rawID)
	aead, err := c.keys.aead(id)
	if err != nil {
		return nil, err
	}
	data := p.GetData()
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("encrypted payload is truncated (%d bytes)", len(data))
	}
	nonce, ct := data[:aead.NonceSize()], data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, payloadAAD)
	if err != nil {
		return nil, fmt.Errorf("authentication failed with key id %q: wrong key for this id or the payload was tampered with", truncateID(id))
	}
	dec := &commonpb.Payload{}
	if err := dec.Unmarshal(plain); err != nil {
		return nil, errors.New("decrypted payload is not a valid Temporal payload")
	}
	return dec, nil
}
