package simulator

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// mix64 is the splitmix64 finalizer: a fast, well-distributed 64-bit hash.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hashOf deterministically combines a seed, a salt and an index.
func hashOf(seed uint64, salt uint64, i int) uint64 {
	return mix64(seed ^ mix64(salt^mix64(uint64(i))))
}

// saltOf turns a label into a salt for hashOf.
func saltOf(label string) uint64 {
	sum := sha256.Sum256([]byte(label))
	return binary.LittleEndian.Uint64(sum[:8])
}

// prng is a tiny deterministic splitmix64 generator. It is not safe for
// concurrent use; every agent gets its own, derived from seed and index.
type prng struct{ s uint64 }

func newPRNG(seed uint64, salt uint64, i int) *prng { return &prng{s: hashOf(seed, salt, i)} }

func (p *prng) next() uint64 {
	p.s += 0x9e3779b97f4a7c15
	return mix64(p.s)
}

// intn returns a value in [0, n).
func (p *prng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(p.next() % uint64(n))
}

// chance reports true with probability pct/100.
func (p *prng) chance(pct int) bool { return p.intn(100) < pct }

// pick returns a random element of xs.
func pick[T any](p *prng, xs []T) T { return xs[p.intn(len(xs))] }

// hexN returns n lowercase hex characters.
func (p *prng) hexN(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, (n+15)/16*16)
	for len(b) < n { // each draw is 16 zero-padded lowercase digits (%016x)
		v := p.next()
		for shift := 60; shift >= 0; shift -= 4 {
			b = append(b, digits[v>>shift&0xf])
		}
	}
	return string(b[:n])
}

// mac returns a colon separated MAC address.
func (p *prng) mac() string {
	const digits = "0123456789abcdef"
	v := p.next()
	b := make([]byte, 0, 17)
	for i, x := range [6]byte{byte(v) & 0xfe, byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32), byte(v >> 40)} {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[x>>4], digits[x&0xf])
	}
	return string(b)
}

// tsLayout is S1's timestamp format: UTC with microseconds and a Z suffix.
const tsLayout = "2006-01-02T15:04:05.000000Z"

// fmtMicros formats unix microseconds the way the console does.
// It writes the digits itself: time.Format was a third of the agent builder's CPU, which
// every rendered alert pays for its agent's fields.
func fmtMicros(us int64) string {
	t := time.UnixMicro(us).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(tsLayout)
	}
	h, mi, sec := t.Clock()
	b := []byte("0000-00-00T00:00:00.000000Z")
	putDigits(b[0:4], y)
	putDigits(b[5:7], int(mo))
	putDigits(b[8:10], d)
	putDigits(b[11:13], h)
	putDigits(b[14:16], mi)
	putDigits(b[17:19], sec)
	putDigits(b[20:26], t.Nanosecond()/1000)
	return string(b)
}

// putDigits writes v's last len(b) decimal digits into b, zero-padded.
func putDigits(b []byte, v int) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// fmtSeconds formats unix microseconds with whole seconds (e.g. osStartTime).
func fmtSeconds(us int64) string { return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05Z") }

// strp returns a pointer to s (for nullable JSON strings).
func strp(s string) *string { return &s }

// fingerprint returns a short, non-reversible identifier for a token, safe to log.
func fingerprint(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("s1sim-token:" + token))
	return fmt.Sprintf("%x", sum[:6])
}

const (
	microsPerSecond = int64(1_000_000)
	microsPerHour   = 3600 * microsPerSecond
	microsPerDay    = 24 * microsPerHour
)
