package fastjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	segjson "github.com/segmentio/encoding/json"
)

// MarshalJSONB returns what AppendJSONBOrder makes of encoding/json.Marshal(v), byte for byte:
// encoding/json's encoding (HTML-safe string escapes, its number formats, omitempty, compacted
// json.Marshaler output) with every object's members in jsonb's key order (jsonb.go). Struct
// fields are put in that order once per type, map keys as they are encoded, so nothing is
// reordered afterwards. Why: the OCSF events are stored as jsonb, and PostgreSQL sorts each
// object's members as it parses one (see jsonb.go): it parsed 20,000 alerts' OCSF events
// 11 µs a row faster in this order, while AppendJSONBOrder on goccy's output cost the worker
// more than that.
//
// Types it cannot encode exactly as encoding/json does — embedded pointers or colliding field
// names, field names that need escaping, `string` and `omitzero` options, arrays, byte slices, maps with non-string keys,
// encoding.TextMarshalers, json.Marshalers on pointer receivers of non-pointer values — are
// encoded by encoding/json and reordered (the whole value, or the value inside an interface).
func MarshalJSONB(v any) ([]byte, error) {
	bp := encodeBufs.Get().(*[]byte)
	defer encodeBufs.Put(bp)
	b, err := appendJSONB((*bp)[:0], v)
	if cap(b) <= 1<<20 { // a rare huge event's buffer is not kept
		*bp = b
	}
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// encodeBufs are MarshalJSONB's scratch buffers: an event is encoded into one and copied out
// at its final size (appending from nil cost a 4.6 KB alert event eight reallocations).
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// appendJSONB appends MarshalJSONB(v) to dst.
func appendJSONB(dst []byte, v any) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	rv := reflect.ValueOf(v)
	enc := encoderFor(rv.Type())
	if enc == nil {
		return fallbackJSONB(dst, v)
	}
	return enc(dst, rv, 0)
}

// maxEncodeDepth bounds the nesting of the values encoded, pointers and interfaces counted
// (encoding/json reports a cycle instead of recursing forever): a value nested deeper is an
// error here, where encoding/json would encode it. A json.Marshaler's output or a fallback
// nested past maxJSONBDepth levels is refused too (AppendJSONBOrder).
const maxEncodeDepth = 10000

var errTooDeep = errors.New("fastjson: value nested too deep (a cycle?)")

// fallbacks counts the values fallbackJSONB encoded.
var fallbacks atomic.Uint64

// Fallbacks is how many values MarshalJSONB has left to encoding/json since the process
// started (tests check that the OCSF events never are: it costs a second pass).
func Fallbacks() uint64 { return fallbacks.Load() }

// fallbackJSONB encodes v with encoding/json and reorders the result.
func fallbackJSONB(dst []byte, v any) ([]byte, error) {
	fallbacks.Add(1)
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	out, ok := AppendJSONBOrder(dst, b)
	if !ok {
		return dst, fmt.Errorf("fastjson: cannot reorder the encoding of a %T", v)
	}
	return out, nil
}

type encodeFunc func(dst []byte, v reflect.Value, depth int) ([]byte, error)

// encoders caches each type's encodeFunc; a nil one means encoding/json encodes the type.
var encoders sync.Map // reflect.Type → encodeFunc

var (
	numberType        = reflect.TypeFor[json.Number]()
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func encoderFor(t reflect.Type) encodeFunc {
	if f, ok := encoders.Load(t); ok {
		return f.(encodeFunc)
	}
	c := &encCompiler{cells: map[reflect.Type]*encodeFunc{}}
	f := c.compile(t)
	if c.unsupported {
		f = nil
	}
	encoders.Store(t, f)
	return f
}

// encCompiler builds one type's encoder. cells hold the encoders of the types being built, so
// a recursive type (a process's parent process) calls its own encoder; one unsupported type
// anywhere makes the whole type go to encoding/json.
type encCompiler struct {
	cells       map[reflect.Type]*encodeFunc
	unsupported bool
}

func (c *encCompiler) fail() encodeFunc {
	c.unsupported = true
	return nil
}

func (c *encCompiler) compile(t reflect.Type) encodeFunc {
	if cell, ok := c.cells[t]; ok {
		if *cell != nil {
			return *cell
		}
		// t is being built: a recursive type calls its encoder through the cell.
		return func(dst []byte, v reflect.Value, depth int) ([]byte, error) { return (*cell)(dst, v, depth) }
	}
	cell := new(encodeFunc)
	c.cells[t] = cell
	*cell = c.build(t)
	return *cell
}

func (c *encCompiler) build(t reflect.Type) encodeFunc {
	if t.Implements(marshalerType) {
		return marshalerEncoder(t)
	}
	if reflect.PointerTo(t).Implements(marshalerType) || t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return c.fail() // encoding/json's choice depends on addressability, or on TextMarshaler rules
	}
	if t == numberType {
		return numberEncoder
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) {
			return strconv.AppendBool(dst, v.Bool()), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) {
			return strconv.AppendInt(dst, v.Int(), 10), nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) {
			return strconv.AppendUint(dst, v.Uint(), 10), nil
		}
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) { return appendFloat(dst, v.Float(), bits) }
	case reflect.String:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) { return appendString(dst, v.String()), nil }
	case reflect.Interface:
		return interfaceEncoder
	case reflect.Pointer:
		elem := c.compile(t.Elem())
		return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
			if v.IsNil() {
				return append(dst, "null"...), nil
			}
			if depth >= maxEncodeDepth {
				return dst, errTooDeep
			}
			return elem(dst, v.Elem(), depth+1)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return c.fail() // base64, and encoding/json's rules for named byte types
		}
		elem := c.compile(t.Elem())
		return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
			if v.IsNil() {
				return append(dst, "null"...), nil
			}
			if depth >= maxEncodeDepth {
				return dst, errTooDeep
			}
			dst = append(dst, '[')
			var err error
			for i := range v.Len() {
				if i > 0 {
					dst = append(dst, ',')
				}
				if dst, err = elem(dst, v.Index(i), depth+1); err != nil {
					return dst, err
				}
			}
			return append(dst, ']'), nil
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String || t.Key().Implements(textMarshalerType) || reflect.PointerTo(t.Key()).Implements(textMarshalerType) {
			return c.fail()
		}
		return mapEncoder(c.compile(t.Elem()))
	case reflect.Struct:
		return c.structEncoder(t)
	}
	return c.fail() // arrays, complex numbers, channels, functions
}

// marshalerEncoder calls t's MarshalJSON and, as encoding/json does, checks and compacts the
// result and escapes it for HTML; then puts its members in jsonb's order.
func marshalerEncoder(t reflect.Type) encodeFunc {
	return func(dst []byte, v reflect.Value, _ int) ([]byte, error) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return append(dst, "null"...), nil
		}
		m, ok := v.Interface().(json.Marshaler)
		if !ok { // a nil json.Marshaler interface
			return append(dst, "null"...), nil
		}
		b, err := m.MarshalJSON()
		if err != nil {
			return dst, &json.MarshalerError{Type: t, Err: err}
		}
		// segmentio's validator is the one the console pages are checked with (4 × encoding/json's
		// speed, fuzzed never to accept what encoding/json rejects); encoding/json's own has the
		// last word on what it refuses.
		if !segjson.Valid(b) && !json.Valid(b) {
			return dst, &json.MarshalerError{Type: t, Err: errors.New("invalid JSON from MarshalJSON")}
		}
		// Escaped first, as encoding/json does: the reorder compares keys as escaped.
		if needsHTMLEscape(b) {
			var esc bytes.Buffer
			json.HTMLEscape(&esc, b)
			b = esc.Bytes()
		}
		out, ok := AppendJSONBOrder(dst, b)
		if !ok {
			return dst, &json.MarshalerError{Type: t, Err: errors.New("cannot reorder the output of MarshalJSON (nested too deep?)")}
		}
		return out, nil
	}
}

// needsHTMLEscape reports whether b holds what json.HTMLEscape rewrites: < > & or the UTF-8 of
// U+2028 / U+2029.
func needsHTMLEscape(b []byte) bool {
	return bytes.ContainsAny(b, "<>&") || bytes.Contains(b, []byte("\u2028")) || bytes.Contains(b, []byte("\u2029"))
}

// numberEncoder writes a json.Number as the number literal it holds ("" as 0), refusing one
// that is not a JSON number as encoding/json does.
func numberEncoder(dst []byte, v reflect.Value, _ int) ([]byte, error) {
	n := v.String()
	if n == "" {
		n = "0"
	}
	if !validNumber(n) {
		return dst, fmt.Errorf("json: invalid number literal %q", n)
	}
	return append(dst, n...), nil
}

// validNumber is JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(s string) bool {
	digits := func(i int) int {
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(i + 1)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

// interfaceEncoder encodes the dynamic value, with its own type's encoder when there is one
// (an interface's value is not addressable for encoding/json either, so encoding/json's
// encoding of it alone is exact).
func interfaceEncoder(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(dst, "null"...), nil
	}
	if depth >= maxEncodeDepth {
		return dst, errTooDeep
	}
	e := v.Elem()
	if enc := encoderFor(e.Type()); enc != nil {
		return enc(dst, e, depth+1)
	}
	return fallbackJSONB(dst, e.Interface())
}

// mapEncoder encodes a map with string keys, its members sorted by their encoded keys (the
// bytes AppendJSONBOrder compares), or in encoding/json's order when a key has an escape.
func mapEncoder(elem encodeFunc) encodeFunc {
	type member struct {
		key []byte // the encoded key, quotes included
		raw string // the key itself: two invalid UTF-8 keys can encode alike (\ufffd)
		val reflect.Value
	}
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if depth >= maxEncodeDepth {
			return dst, errTooDeep
		}
		ms := make([]member, 0, v.Len())
		escaped := false
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			m := member{key: appendString(nil, k), raw: k, val: iter.Value()}
			escaped = escaped || bytes.IndexByte(m.key, '\\') >= 0
			ms = append(ms, m)
		}
		slices.SortFunc(ms, func(a, b member) int {
			if !escaped {
				if len(a.key) != len(b.key) {
					return len(a.key) - len(b.key)
				}
				if c := bytes.Compare(a.key, b.key); c != 0 {
					return c
				}
			}
			// encoding/json's order: AppendJSONBOrder keeps it for ties and for objects with
			// an escaped key.
			return strings.Compare(a.raw, b.raw)
		})
		dst = append(dst, '{')
		var err error
		for i, m := range ms {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(append(dst, m.key...), ':')
			if dst, err = elem(dst, m.val, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
}

type encField struct {
	index     int
	name      []byte // `"name":`
	omitEmpty bool
	enc       encodeFunc
	embedded  []int // the index path when the field is promoted from embedded structs
}

// structEncoder encodes a struct's fields, named and promoted as encoding/json names them,
// in jsonb's order of their names.
func (c *encCompiler) structEncoder(t reflect.Type) encodeFunc {
	var fields []encField
	names := map[string]bool{}
	var collect func(t reflect.Type, path []int) bool
	collect = func(t reflect.Type, path []int) bool {
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue // encoding/json ignores these too
				}
			} else if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if !validTag(name) {
				name = ""
			}
			if name == "" && sf.Anonymous {
				if sf.Type.Kind() != reflect.Struct {
					return false // fields promoted through a pointer, or an embedded non-struct
				}
				if !collect(sf.Type, append(slices.Clone(path), i)) {
					return false
				}
				continue
			}
			for _, o := range strings.Split(opts, ",") {
				if o != "" && o != "omitempty" {
					return false // `string`, `omitzero`
				}
			}
			if name == "" {
				name = sf.Name
			}
			if bytes.IndexByte(appendString(nil, name), '\\') >= 0 {
				return false // an escaped key: AppendJSONBOrder leaves its object in encoding/json's order
			}
			if names[name] {
				return false // encoding/json's dominance rules decide
			}
			names[name] = true
			fields = append(fields, encField{
				index:     i,
				name:      append(appendString(nil, name), ':'),
				omitEmpty: strings.Contains(","+opts+",", ",omitempty,"),
				enc:       c.compile(sf.Type),
				embedded:  path,
			})
		}
		return true
	}
	if !collect(t, nil) {
		return c.fail()
	}
	slices.SortStableFunc(fields, func(a, b encField) int {
		if len(a.name) != len(b.name) {
			return len(a.name) - len(b.name)
		}
		return bytes.Compare(a.name, b.name)
	})
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if depth >= maxEncodeDepth {
			return dst, errTooDeep
		}
		dst = append(dst, '{')
		first := true
		var err error
		for i := range fields {
			f := &fields[i]
			fv := v
			for _, j := range f.embedded {
				fv = fv.Field(j)
			}
			fv = fv.Field(f.index)
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, f.name...)
			if dst, err = f.enc(dst, fv, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
}

// validTag is encoding/json's test of a tag name (otherwise the field's Go name is used).
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// appendFloat formats f as encoding/json does (ES6: shortest digits, exponent form outside
// [1e-6, 1e21)).
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, bits)}
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// safeASCII marks the ASCII bytes appendString copies as they are.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendString appends s quoted as encoding/json does with HTML escaping: \" \\ \b \f \n \r
// \t, other control characters and < > & as \u00XX, U+2028 and U+2029 escaped, invalid UTF-8
// as \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safeASCII[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
