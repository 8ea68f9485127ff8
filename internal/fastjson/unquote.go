package fastjson

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote returns the content of the JSON string literal b as encoding/json decodes it into a
// string; ok is false when b is not a valid JSON string. It unescapes in one pass (a CPU
// profile of the alerts full sync put 4 % of the worker's CPU in encoding/json unquoting the
// many values that hold a backslash: Windows paths, quoted command lines); input that is not
// valid UTF-8, whose bytes encoding/json replaces with U+FFFD, goes to encoding/json.
func Unquote(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	i := bytes.IndexByte(in, '\\')
	if i < 0 {
		if bytes.IndexByte(in, '"') >= 0 || hasControl(in) || !utf8.Valid(in) {
			return slowUnquote(b)
		}
		return string(in), true
	}
	if !utf8.Valid(in) {
		return slowUnquote(b)
	}
	out := make([]byte, 0, len(in))
	for {
		run := in[:i]
		if bytes.IndexByte(run, '"') >= 0 || hasControl(run) {
			return "", false
		}
		out = append(out, run...)
		in = in[i:] // in[0] == '\\'
		if len(in) < 2 {
			return "", false
		}
		switch c := in[1]; c {
		case '"', '\\', '/':
			out = append(out, c)
			in = in[2:]
		case 'b':
			out, in = append(out, '\b'), in[2:]
		case 'f':
			out, in = append(out, '\f'), in[2:]
		case 'n':
			out, in = append(out, '\n'), in[2:]
		case 'r':
			out, in = append(out, '\r'), in[2:]
		case 't':
			out, in = append(out, '\t'), in[2:]
		case 'u':
			r := hex4(in)
			if r < 0 {
				return "", false
			}
			in = in[6:]
			if utf16.IsSurrogate(r) {
				// A valid pair is one rune; anything else is U+FFFD and what follows is read
				// on its own (encoding/json's rules).
				if r2 := hex4(in); r2 >= 0 {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						in = in[6:]
						break
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
		if i = bytes.IndexByte(in, '\\'); i < 0 {
			if bytes.IndexByte(in, '"') >= 0 || hasControl(in) {
				return "", false
			}
			return string(append(out, in...)), true
		}
	}
}

// hex4 decodes the \uXXXX escape at the start of s; -1 if there is none.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < ' ' {
			return true
		}
	}
	return false
}

func slowUnquote(b []byte) (string, bool) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", false
	}
	return s, true
}
