package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Finding is one problem the simulator noticed in a request. Fatal findings make
// the simulator answer 380104 VALIDATION_ERROR (or an OAuth 400); the others
// (unknown fields, headers) are accepted, as iyzico probably accepts them, but
// recorded so that tests can assert that bridged sends clean requests.
type Finding struct {
	Field  string      `json:"field"` // JSON path ("saleItems[0].unitCode"), form field or header name
	Kind   FindingKind `json:"kind"`
	Detail string      `json:"detail,omitempty"` // never carries the field's value
}

// FindingKind classifies a Finding.
type FindingKind string

// Every kind of finding. Only FindingUnknownField and FindingHeader are not fatal.
const (
	FindingUnknownField FindingKind = "unknown_field"
	FindingHeader       FindingKind = "bad_header"
	FindingMalformed    FindingKind = "malformed_body"
	FindingMissing      FindingKind = "missing_required"
	FindingType         FindingKind = "wrong_type"
	FindingEnum         FindingKind = "bad_enum"
	FindingValue        FindingKind = "bad_value"
)

// Fatal reports whether the finding made the simulator refuse the request.
func (f Finding) Fatal() bool { return f.Kind != FindingUnknownField && f.Kind != FindingHeader }

func (f Finding) String() string {
	if f.Detail == "" {
		return f.Field + ": " + string(f.Kind)
	}
	return f.Field + ": " + f.Detail
}

// jsonKind is a field type as iyzico's schemas declare it.
type jsonKind int

const (
	kString  jsonKind = iota
	kInteger          // int32/int64: a JSON number without fraction or exponent
	kAmount           // "number (double)" (VUK 509) or "decimal" (VUK 507): exact, > 0, two decimals at most
	kBool
	kDate    // string YYYYMMDD (VUK 509 paymentDate)
	kIntDate // integer YYYYMMDD (VUK 507 paymentDate)
	kObject
	kObjects // array of objects
)

func (k jsonKind) String() string {
	return [...]string{"string", "integer", "number", "boolean", "string YYYYMMDD", "integer YYYYMMDD", "object", "array of objects"}[k]
}

// field is one entry of a request schema.
type field struct {
	name     string
	kind     jsonKind
	required bool
	enum     []string // allowed values; integers written as their literal ("1")
	maxLen   int
	minItems int
	fields   []field // members of kObject, or of each kObjects item
}

// schema is the member list of a request body.
type schema []field

// validator walks a decoded body against a schema, collecting findings.
type validator struct {
	findings       []Finding
	decimalStrings bool // Config.AcceptDecimalStrings, for VUK 507 decimals
}

// decodeBody parses a JSON object, keeping numbers as their literal text so that
// amounts are never read through float64.
func decodeBody(raw []byte) (body, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty body")
		}
		return nil, errors.New("not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return obj, nil
}

func (v *validator) add(path string, kind FindingKind, detail string) {
	v.findings = append(v.findings, Finding{Field: path, Kind: kind, Detail: detail})
}

func (v *validator) object(obj map[string]any, sch schema, prefix string) {
	known := make(map[string]bool, len(sch))
	for _, f := range sch {
		known[f.name] = true
	}
	var unknown []string
	for k := range obj {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		v.add(prefix+k, FindingUnknownField, "not in iyzico's schema; ignored")
	}
	for _, f := range sch {
		val, ok := obj[f.name]
		if !ok || val == nil { // Jackson treats an explicit null as absent
			if f.required {
				v.add(prefix+f.name, FindingMissing, "required")
			}
			continue
		}
		v.value(f, val, prefix+f.name)
	}
}

func (v *validator) value(f field, val any, path string) {
	switch f.kind {
	case kString:
		v.stringValue(f, val, path)
	case kInteger:
		v.integerValue(f, val, path)
	case kAmount:
		v.amountValue(f, val, path)
	case kBool:
		if _, ok := val.(bool); !ok {
			v.wrongType(f, path)
		}
	case kDate:
		s, ok := val.(string)
		v.date(f, s, ok, path)
	case kIntDate:
		n, ok := val.(json.Number)
		v.date(f, n.String(), ok, path)
	case kObject:
		obj, ok := val.(map[string]any)
		if !ok {
			v.wrongType(f, path)
			return
		}
		v.object(obj, f.fields, path+".")
	case kObjects:
		v.objectsValue(f, val, path)
	}
}

// wrongType records a value of another JSON type than the field's.
func (v *validator) wrongType(f field, path string) {
	v.add(path, FindingType, "must be "+f.kind.String())
}

func (v *validator) stringValue(f field, val any, path string) {
	s, ok := val.(string)
	if !ok {
		v.wrongType(f, path)
		return
	}
	switch {
	case s == "" && f.required:
		v.add(path, FindingMissing, "required, empty")
	case f.maxLen > 0 && len(s) > f.maxLen:
		v.add(path, FindingValue, fmt.Sprintf("longer than %d characters", f.maxLen))
	case len(f.enum) > 0 && !slices.Contains(f.enum, s):
		v.add(path, FindingEnum, "must be one of "+strings.Join(f.enum, ", "))
	}
}

func (v *validator) integerValue(f field, val any, path string) {
	n, ok := val.(json.Number)
	if !ok {
		v.wrongType(f, path)
		return
	}
	if _, err := parseInteger(n.String()); err != nil {
		v.wrongType(f, path)
		return
	}
	if len(f.enum) > 0 && !slices.Contains(f.enum, n.String()) {
		v.add(path, FindingEnum, "must be one of "+strings.Join(f.enum, ", "))
	}
}

// amountValue checks an amount: a JSON number, or a decimal string where
// the config allows one.
func (v *validator) amountValue(f field, val any, path string) {
	var lit string
	switch x := val.(type) {
	case json.Number:
		lit = x.String()
	case string:
		if !v.decimalStrings {
			v.wrongType(f, path)
			return
		}
		lit = x
	default:
		v.wrongType(f, path)
		return
	}
	if _, err := parseAmount(lit); err != nil {
		v.add(path, FindingValue, err.Error())
	}
}

// date checks a date YYYYMMDD, s, read from a value of the field's JSON type
// (ok false when it was another).
func (v *validator) date(f field, s string, ok bool, path string) {
	if !ok {
		v.wrongType(f, path)
		return
	}
	if !validDate(s) {
		v.add(path, FindingValue, "must be a date YYYYMMDD")
	}
}

// objectsValue checks a list of objects, each against the field's members.
func (v *validator) objectsValue(f field, val any, path string) {
	arr, ok := val.([]any)
	if !ok {
		v.wrongType(f, path)
		return
	}
	if len(arr) < f.minItems {
		v.add(path, FindingValue, fmt.Sprintf("needs at least %d item(s)", f.minItems))
	}
	for i, item := range arr {
		obj, ok := item.(map[string]any)
		p := fmt.Sprintf("%s[%d]", path, i)
		if !ok {
			v.add(p, FindingType, "must be object")
			continue
		}
		v.object(obj, f.fields, p+".")
	}
}

func validDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}

// fatalDetails joins the fatal findings into the text of a 380104 answer.
func fatalDetails(fs []Finding) string {
	var parts []string
	for _, f := range fs {
		if f.Fatal() {
			parts = append(parts, f.String())
		}
	}
	return strings.Join(parts, "; ")
}

// body is a decoded, validated request. Its getters assume validation passed:
// a value of the wrong type reads as the zero value.
type body map[string]any

func (b body) has(name string) bool { return b[name] != nil }

func (b body) str(name string) string {
	s, _ := b[name].(string)
	return s
}

func (b body) amount(name string) amount {
	var lit string
	switch x := b[name].(type) {
	case json.Number:
		lit = x.String()
	case string:
		lit = x
	}
	a, _ := parseAmount(lit)
	return a
}

func (b body) integer(name string, def int64) int64 {
	n, ok := b[name].(json.Number)
	if !ok {
		return def
	}
	i, err := parseInteger(n.String())
	if err != nil {
		return def
	}
	return i
}

// date reads a YYYYMMDD value given as a string (VUK 509) or integer (VUK 507).
func (b body) date(name string) string {
	switch x := b[name].(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

func (b body) boolean(name string) bool {
	v, _ := b[name].(bool)
	return v
}

func (b body) objects(name string) []body {
	arr, _ := b[name].([]any)
	out := make([]body, 0, len(arr))
	for _, item := range arr {
		if obj, ok := item.(map[string]any); ok {
			out = append(out, obj)
		}
	}
	return out
}

// object reads a nested object; raw keeps its members as decoded.
func (b body) object(name string) map[string]any {
	obj, _ := b[name].(map[string]any)
	return obj
}
