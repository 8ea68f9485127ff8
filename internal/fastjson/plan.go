package fastjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unsafe"
)

// Planned decoding: structs whose every leaf is a json.Unmarshaler.
//
// The console objects are decoded into structs of the transforms' tolerant scalar types
// (ocsf.FlexString and friends), each a json.Unmarshaler. goccy calls an Unmarshaler through
// an interface assertion on a fresh copy of the value's bytes: a CPU profile of the worker in
// the 100k-alert full sync put 25 % of its CPU in decoding, most of it in those calls, and
// two of the three allocations a field costs were goccy's copy and the string the method then
// makes. A plan walks such a struct in one pass over the (already validated) bytes and calls
// each field's UnmarshalJSON directly on its subslice, as encoding/json does (the
// json.Unmarshaler contract: the method must copy what it keeps).
//
// A plan exists only for a struct type built of exported, tagged fields whose types are
// json.Unmarshalers, structs of the same kind or slices of them: no embedded fields, no
// ",string" options, no plain scalars, pointers, maps or interfaces. Anything it does not
// decode exactly as encoding/json would, it hands back (ok false) and the caller decodes
// the whole value again with the general decoders: a key that matches a field only
// case-insensitively or is written with escapes, a repeated slice member, a value of the
// wrong JSON type, an Unmarshaler's error. FuzzPlannedDecode (package ocsf) compares the
// result with encoding/json's on the transforms' own types.

type planFunc func(p unsafe.Pointer, b []byte, i int) (end int, ok bool)

// unmarshalers holds the direct UnmarshalJSON calls registered with RegisterUnmarshaler.
var unmarshalers sync.Map // reflect.Type → func(unsafe.Pointer, []byte) error

// RegisterUnmarshaler lets plans call (*T).UnmarshalJSON directly; an Unmarshaler that is not
// registered is called through reflection (correct, slower).
func RegisterUnmarshaler[T any, PT interface {
	*T
	json.Unmarshaler
}]() {
	unmarshalers.Store(reflect.TypeFor[T](), func(p unsafe.Pointer, b []byte) error { return PT((*T)(p)).UnmarshalJSON(b) })
	plans.Clear() // a plan compiled before this call would keep the reflective call
}

// plans caches each type's plan (nil: the type has none).
var plans sync.Map // reflect.Type → planFunc

// DecodePlanned decodes data (valid JSON) into v, a non-nil pointer to a struct, with the
// type's plan. false means v's type has no plan or data needs the general decoders; v then
// may hold a partial result and must be reset before decoding again.
func DecodePlanned(data []byte, v any) bool {
	_, ok := decodePlanned(data, v)
	return ok
}

// decodePlanned is DecodePlanned that also tells whether a plan was tried (and v perhaps
// written to).
func decodePlanned(data []byte, v any) (tried, ok bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false, false
	}
	f := planFor(rv.Type().Elem())
	if f == nil {
		return false, false
	}
	i := SkipSpace(data, 0)
	if i >= len(data) {
		return false, false
	}
	end, ok := f(rv.UnsafePointer(), data, i)
	return true, ok && SkipSpace(data, end) == len(data)
}

func planFor(t reflect.Type) planFunc {
	if f, ok := plans.Load(t); ok {
		return f.(planFunc)
	}
	var f planFunc
	if t.Kind() == reflect.Struct {
		f = compile(t, map[reflect.Type]bool{})
	}
	plans.Store(t, f)
	return f
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// compile returns t's plan, nil when t (or a type in it) is not one a plan decodes exactly.
func compile(t reflect.Type, open map[reflect.Type]bool) planFunc {
	pt := reflect.PointerTo(t)
	if pt.Implements(unmarshalerType) {
		if t.Name() == "" {
			return nil // encoding/json only looks for the pointer method on named types
		}
		return leaf(t)
	}
	if pt.Implements(textUnmarshalerType) {
		return nil
	}
	if open[t] {
		return nil // a recursive type
	}
	open[t] = true
	defer delete(open, t)
	switch t.Kind() {
	case reflect.Struct:
		return compileStruct(t, open)
	case reflect.Slice:
		elem := compile(t.Elem(), open)
		if elem == nil {
			return nil
		}
		return slicePlan(t, elem)
	}
	return nil
}

func leaf(t reflect.Type) planFunc {
	var call func(unsafe.Pointer, []byte) error
	if f, ok := unmarshalers.Load(t); ok {
		call = f.(func(unsafe.Pointer, []byte) error)
	} else {
		call = func(p unsafe.Pointer, b []byte) error {
			return reflect.NewAt(t, p).Interface().(json.Unmarshaler).UnmarshalJSON(b)
		}
	}
	return func(p unsafe.Pointer, b []byte, i int) (int, bool) {
		end := SkipValue(b, i)
		if end <= i {
			return 0, false
		}
		return end, call(p, b[i:end:end]) == nil
	}
}

type planField struct {
	offset uintptr
	decode planFunc
}

func compileStruct(t reflect.Type, open map[reflect.Type]bool) planFunc {
	fields := map[string]planField{}
	folded := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil // embedded fields follow encoding/json's promotion rules
		}
		if !sf.IsExported() {
			continue // encoding/json ignores them too
		}
		tag, ok := sf.Tag.Lookup("json")
		if !ok || tag == "-" {
			if !ok {
				return nil // named after the Go field: keep to tagged structs
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || len(name) > maxNameLen || strings.Contains(opts, "string") || !plainName(name) {
			return nil
		}
		dec := compile(sf.Type, open)
		if dec == nil {
			return nil
		}
		if _, dup := fields[name]; dup || folded[strings.ToLower(name)] {
			return nil // encoding/json's rules for names that collide
		}
		fields[name] = planField{offset: sf.Offset, decode: dec}
		folded[strings.ToLower(name)] = true
	}
	return func(p unsafe.Pointer, b []byte, i int) (int, bool) {
		switch b[i] {
		case 'n':
			return literalNull(b, i) // a null object leaves the struct as it is
		case '{':
		default:
			return 0, false
		}
		i = SkipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			kEnd := SkipString(b, i)
			if kEnd < i+2 || b[kEnd-1] != '"' {
				return 0, false
			}
			key := b[i+1 : kEnd-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				return 0, false // an escaped key: let the general decoder unescape it
			}
			i = SkipSpace(b, kEnd)
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i = SkipSpace(b, i+1)
			if i >= len(b) {
				return 0, false
			}
			if f, ok := fields[string(key)]; ok {
				if i, ok = f.decode(unsafe.Add(p, f.offset), b, i); !ok {
					return 0, false
				}
			} else {
				if foldMatches(folded, key) {
					return 0, false
				}
				i = SkipValue(b, i)
			}
			i = SkipSpace(b, i)
			if i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case '}':
				return i + 1, true
			case ',':
				i = SkipSpace(b, i+1)
			default:
				return 0, false
			}
		}
	}
}

// maxNameLen is the longest field name a plan takes (foldMatches folds keys up to it).
const maxNameLen = 64

// plainName: tag names of ASCII letters, digits and '_' (all the transforms use); others
// have encoding/json rules of their own.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// foldMatches reports whether key could match a field case-insensitively (encoding/json
// then fills that field): an ASCII key equal to a field name but for case, or any key with
// non-ASCII bytes (Unicode folding maps "K" and "ſ" to ASCII letters).
func foldMatches(folded map[string]bool, key []byte) bool {
	var buf [maxNameLen]byte
	if len(key) > len(buf) {
		for _, c := range key {
			if c >= 0x80 {
				return true
			}
		}
		return false // longer than any field name
	}
	for j, c := range key {
		if c >= 0x80 {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[j] = c
	}
	return folded[string(buf[:len(key)])]
}

func slicePlan(t reflect.Type, elem planFunc) planFunc {
	zero := reflect.Zero(t.Elem())
	return func(p unsafe.Pointer, b []byte, i int) (int, bool) {
		sv := reflect.NewAt(t, p).Elem()
		switch b[i] {
		case 'n':
			sv.SetZero()
			return literalNull(b, i)
		case '[':
		default:
			return 0, false
		}
		if !sv.IsNil() {
			return 0, false // a repeated member: encoding/json decodes into the old elements
		}
		out := reflect.MakeSlice(t, 0, 0) // [] is an empty slice, not nil
		i = SkipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			sv.Set(out)
			return i + 1, true
		}
		for {
			if i >= len(b) {
				return 0, false
			}
			out = reflect.Append(out, zero)
			var ok bool
			if i, ok = elem(out.Index(out.Len()-1).Addr().UnsafePointer(), b, i); !ok {
				return 0, false
			}
			i = SkipSpace(b, i)
			if i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ']':
				sv.Set(out)
				return i + 1, true
			case ',':
				i = SkipSpace(b, i+1)
			default:
				return 0, false
			}
		}
	}
}

func literalNull(b []byte, i int) (int, bool) {
	if len(b)-i >= 4 && string(b[i:i+4]) == "null" {
		return i + 4, true
	}
	return 0, false
}
