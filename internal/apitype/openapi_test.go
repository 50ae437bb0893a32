package apitype

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// schema is what this test reads of a JSON Schema in the API document.
type schema struct {
	Ref        string             `yaml:"$ref"`
	Properties map[string]*schema `yaml:"properties"`
	Items      *schema            `yaml:"items"`
	AllOf      []*schema          `yaml:"allOf"`
	OneOf      []*schema          `yaml:"oneOf"`
	AnyOf      []*schema          `yaml:"anyOf"`
}

// apiDocument is internal/server/openapi.yaml's named schemas.
type apiDocument struct {
	Components struct {
		Schemas map[string]*schema `yaml:"schemas"`
	} `yaml:"components"`
}

func readAPIDocument(t *testing.T) *apiDocument {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "server", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc apiDocument
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse the API document: %v", err)
	}
	return &doc
}

// documented are the wire types and the schema each is in the document.
// Problem's schema is the problem document with all its variants' fields;
// the readiness summary (no key) shows a part of Readiness's.
var documented = []struct {
	schema string
	types  []any
}{
	{"Payment", []any{Payment{}}},
	{"PaymentList", []any{PaymentList{}}},
	{"SplitCancel", []any{SplitCancel{}}},
	{"Event", []any{Event{}}},
	{"Terminal", []any{Terminal{}}},
	{"TerminalList", []any{TerminalList{}}},
	{"EndOfDay", []any{EndOfDay{}}},
	{"EndOfDayList", []any{EndOfDayList{}}},
	{"CompactResult", []any{CompactResult{}}},
	{"Readiness", []any{Readiness{}}},
	{"Problem", []any{Problem{}, ValidationProblem{}, BlockedProblem{}}},
	{"FieldProblem", []any{FieldProblem{}}},
	{"SettleRequest", []any{SettleRequest{}}},
	{"AcknowledgeRequest", []any{AcknowledgeRequest{}}},
}

// TestWireTypesMatchTheDocument: every wire type's JSON fields are its
// schema's properties, both ways and at every depth (the parts of an
// operation, of a report, of /readyz), so that a field added to one and not
// the other fails here. The readiness summary's fields are Readiness's.
func TestWireTypesMatchTheDocument(t *testing.T) {
	doc := readAPIDocument(t)
	for _, d := range documented {
		s := doc.Components.Schemas[d.schema]
		if s == nil {
			t.Errorf("the document has no %s schema", d.schema)
			continue
		}
		var types []reflect.Type
		for _, v := range d.types {
			types = append(types, reflect.TypeOf(v))
		}
		for _, p := range mismatches(doc, d.schema, s, types, false) {
			t.Error(p)
		}
	}
	for _, p := range mismatches(doc, "Readiness", doc.Components.Schemas["Readiness"], []reflect.Type{reflect.TypeOf(ReadinessSummary{})}, true) {
		t.Error("the readiness summary: " + p)
	}
}

// TestMismatchesAreCaught proves the check fails on a type with a field the
// schema lacks, a type without a field the schema has, and a mismatch in
// a part.
func TestMismatchesAreCaught(t *testing.T) {
	doc := readAPIDocument(t)
	type extraField struct {
		Payment
		Tip string `json:"tip"`
	}
	type missingField struct {
		Compacted bool `json:"compacted"`
	}
	type cardWithout struct {
		BIN string `json:"bin"`
	}
	type nestedMismatch struct {
		Payment
		Card *cardWithout `json:"card"`
	}
	type summaryWithExtra struct {
		ReadinessSummary
		Secret string `json:"secret"`
	}
	tests := []struct {
		schema string
		typ    any
		subset bool
		want   string
	}{
		{"Payment", extraField{}, false, "Payment.tip"},
		{"CompactResult", missingField{}, false, "CompactResult.before_bytes"},
		{"Payment", nestedMismatch{}, false, "Payment.card.last4"},
		{"Readiness", summaryWithExtra{}, true, "Readiness.secret"},
	}
	for _, tt := range tests {
		got := mismatches(doc, tt.schema, doc.Components.Schemas[tt.schema], []reflect.Type{reflect.TypeOf(tt.typ)}, tt.subset)
		if !strings.Contains(strings.Join(got, "\n"), tt.want) {
			t.Errorf("%T against %s: %q, want one naming %s", tt.typ, tt.schema, got, tt.want)
		}
	}
}

// mismatches compares the JSON fields of types (together) with the
// properties of s, at path, then each field that is an object with the
// property's schema. subset: the types may leave properties out.
func mismatches(doc *apiDocument, path string, s *schema, types []reflect.Type, subset bool) []string {
	props := properties(doc, s)
	fields := map[string][]reflect.Type{}
	for _, t := range types {
		for name, ft := range jsonFields(t) {
			fields[name] = append(fields[name], ft)
		}
	}
	var out []string
	for name := range fields {
		if _, ok := props[name]; !ok {
			out = append(out, path+"."+name+": a field of the wire type, not in the document")
		}
	}
	if !subset {
		for name := range props {
			if _, ok := fields[name]; !ok {
				out = append(out, path+"."+name+": in the document, not a field of the wire type")
			}
		}
	}
	for name, fts := range fields {
		var structs []reflect.Type
		for _, ft := range fts {
			if st := objectType(ft); st != nil {
				structs = append(structs, st)
			}
		}
		if p := props[name]; p != nil && len(structs) > 0 {
			out = append(out, mismatches(doc, path+"."+name, objectSchema(doc, p), structs, subset)...)
		}
	}
	sort.Strings(out)
	return out
}

// properties are s's properties, $ref followed and allOf, oneOf and anyOf merged.
func properties(doc *apiDocument, s *schema) map[string]*schema {
	out := map[string]*schema{}
	if s == nil {
		return out
	}
	s = resolve(doc, s)
	for k, v := range s.Properties {
		out[k] = v
	}
	for _, sub := range append(append(append([]*schema{}, s.AllOf...), s.OneOf...), s.AnyOf...) {
		for k, v := range properties(doc, sub) {
			out[k] = v
		}
	}
	return out
}

// objectSchema is the object a property holds: itself, an array's items,
// or the object among oneOf's choices (an object or null).
func objectSchema(doc *apiDocument, s *schema) *schema {
	s = resolve(doc, s)
	if s.Items != nil {
		return objectSchema(doc, s.Items)
	}
	return s
}

func resolve(doc *apiDocument, s *schema) *schema {
	for s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if !ok || doc.Components.Schemas[name] == nil {
			return &schema{}
		}
		s = doc.Components.Schemas[name]
	}
	return s
}

// objectType is the struct a field's JSON is an object of (through
// pointers and slices), or nil: a string, number, time or map.
func objectType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return nil
	}
	return t
}

// jsonFields are t's fields as encoding/json names them, embedded structs'
// fields promoted.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				if _, shadowed := out[k]; !shadowed {
					out[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
