package ocsf

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

//go:embed schema/*.json
var schemaFS embed.FS

// schemaFiles maps each class this connector emits to its strict OCSF 1.6.0 schema
// (copied from shared/ocsf; see schema/ for the sources).
var schemaFiles = map[int]string{
	ClassDeviceInventoryInfo:   "schema/inventory_info.schema.json",
	ClassSoftwareInventoryInfo: "schema/software_info.schema.json",
	ClassVulnerabilityFinding:  "schema/vulnerability_finding.schema.json",
	ClassDetectionFinding:      "schema/detection_finding.schema.json",
}

// Validator compiles the embedded strict schemas once (santhosh-tekuri/jsonschema/v6).
// It is safe for concurrent use.
type Validator struct {
	schemas map[int]*jsonschema.Schema
}

// NewValidator compiles the four embedded schemas. It never touches the network: the
// draft 2020-12 meta-schema ships with the library.
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	urls := make(map[int]string, len(schemaFiles))
	for class, file := range schemaFiles {
		b, err := schemaFS.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("ocsf: read embedded %s: %w", file, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("ocsf: parse embedded %s: %w", file, err)
		}
		url := "mem:///" + file
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("ocsf: add schema %s: %w", file, err)
		}
		urls[class] = url
	}
	v := &Validator{schemas: make(map[int]*jsonschema.Schema, len(urls))}
	for class, url := range urls {
		s, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("ocsf: compile schema for class %d: %w", class, err)
		}
		v.schemas[class] = s
	}
	return v, nil
}

// Violation is one schema violation: where in the event (JSON pointer, "" = the root)
// and what is wrong.
type Violation struct {
	Pointer string
	Message string
}

// SchemaError is returned by Validate when the event does not conform. It lists every
// violation found.
type SchemaError struct {
	ClassUID   int
	Violations []Violation
}

func (e *SchemaError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "ocsf: event does not validate against class %d schema (%d violation(s))", e.ClassUID, len(e.Violations))
	for _, v := range e.Violations {
		p := v.Pointer
		if p == "" {
			p = "/"
		}
		sb.WriteString("; ")
		sb.WriteString(p)
		sb.WriteString(": ")
		sb.WriteString(v.Message)
	}
	return sb.String()
}

// Validate checks one serialized event against the strict schema of classUID
// (5001, 5020, 2002 or 2004). A non-conforming event yields a *SchemaError listing every
// violation with its JSON pointer.
func (v *Validator) Validate(classUID int, event []byte) error {
	s, ok := v.schemas[classUID]
	if !ok {
		return fmt.Errorf("ocsf: no schema for class_uid %d (have 5001, 5020, 2002, 2004)", classUID)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("ocsf: event is not valid JSON: %w", err)
	}
	err = s.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("ocsf: validate class %d: %w", classUID, err)
	}
	se := &SchemaError{ClassUID: classUID}
	seen := map[Violation]bool{}
	collectViolations(ve, se, seen)
	sort.SliceStable(se.Violations, func(i, j int) bool { return se.Violations[i].Pointer < se.Violations[j].Pointer })
	return se
}

// collectViolations flattens the cause tree to its leaves. An anyOf/oneOf failure is
// reported as one violation listing its alternatives, not as one leaf per branch.
func collectViolations(e *jsonschema.ValidationError, se *SchemaError, seen map[Violation]bool) {
	add := func(v Violation) {
		if !seen[v] {
			seen[v] = true
			se.Violations = append(se.Violations, v)
		}
	}
	switch e.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf:
		parts := make([]string, 0, len(e.Causes))
		for _, c := range e.Causes {
			parts = append(parts, leafMessages(c)...)
		}
		msg := e.ErrorKind.LocalizedString(printer)
		if len(parts) > 0 {
			msg += " (" + strings.Join(parts, " | ") + ")"
		}
		add(Violation{Pointer: pointer(e.InstanceLocation), Message: msg})
		return
	}
	if len(e.Causes) == 0 {
		add(Violation{Pointer: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(printer)})
		return
	}
	for _, c := range e.Causes {
		collectViolations(c, se, seen)
	}
}

func leafMessages(e *jsonschema.ValidationError) []string {
	if len(e.Causes) == 0 {
		return []string{e.ErrorKind.LocalizedString(printer)}
	}
	var out []string
	for _, c := range e.Causes {
		out = append(out, leafMessages(c)...)
	}
	return out
}

func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		sb.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return sb.String()
}
