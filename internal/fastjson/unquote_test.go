package fastjson

import (
	"encoding/json"
	"testing"
)

var unquoteCorpus = []string{
	`""`, `"plain"`, `"C:\\Windows\\System32\\cmd.exe"`, `"\"quoted\" \/ \b\f\n\r\t"`,
	`"\u00e9\u20AC\ud83d\ude00"`, `"\ud83d"`, `"\ud83d\u0041"`, `"\ude00\ud83d"`, `"\ud83dx"`,
	`"\u12"`, `"\x"`, `"\"`, `"a"b"`, "\"tab\there\"", "\"\xff\xfe\"", "\"\xff\\n\"", `"é ü 日本"`,
	`"trailing\\"`, `"\\\""`, `x`, `"`, `"unterminated`, `123`,
}

func checkUnquote(t *testing.T, b []byte) {
	t.Helper()
	var want string
	werr := json.Unmarshal(b, &want)
	// Unquote takes the literal alone, as decoders slice it out: no white space around it.
	isString := len(b) > 1 && b[0] == '"' && b[len(b)-1] == '"'
	got, ok := Unquote(b)
	if !isString {
		if ok {
			t.Fatalf("%q: Unquote accepted a non-string", b)
		}
		return
	}
	if ok != (werr == nil) {
		t.Fatalf("%q: Unquote ok=%v, encoding/json error %v", b, ok, werr)
	}
	if ok && got != want {
		t.Fatalf("%q: Unquote %q, encoding/json %q", b, got, want)
	}
}

func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, s := range unquoteCorpus {
		checkUnquote(t, []byte(s))
	}
}

func FuzzUnquote(f *testing.F) {
	for _, s := range unquoteCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkUnquote(t, b) })
}
