package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"

	"github.com/bridgedpos/bridged/internal/payment"
)

// maxBody bounds every request body: a sale with 200 lines fits many times over.
const maxBody = 64 << 10

// errTooLarge and errMediaType are answered 413 and 415.
var (
	errTooLarge  = errors.New("request body too large")
	errMediaType = errors.New("unsupported media type")
)

// readObject reads a size-limited JSON object body. An empty body is an
// empty object (void, cancel and resolve need no fields). Trailing data after
// the object, invalid JSON and non-objects are problems.
func readObject(w http.ResponseWriter, r *http.Request) (*object, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
			return nil, errMediaType
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "body", Message: "could not be read"}}}
	}
	o := &object{fields: map[string]json.RawMessage{}}
	// JSON's own whitespace only: a body of "\v" or U+00A0 is not JSON.
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		return o, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&o.fields); err != nil {
		return nil, &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "body", Message: jsonProblem(err)}}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "body", Message: "unexpected data after the JSON object"}}}
	}
	if o.fields == nil {
		return nil, &payment.ValidationError{Problems: []payment.FieldProblem{{Field: "body", Message: "must be a JSON object"}}}
	}
	o.problems = &[]payment.FieldProblem{}
	return o, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return "must be a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "is truncated JSON"
	}
	return "is not valid JSON"
}

// object decodes one JSON object field by field, so that every problem (a
// wrong type, an unknown field) is reported at once with its path, instead of
// the first one only.
type object struct {
	fields   map[string]json.RawMessage
	path     string
	used     map[string]bool
	problems *[]payment.FieldProblem
}

func (o *object) field(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

func (o *object) add(field, msg string) {
	if o.problems == nil {
		o.problems = &[]payment.FieldProblem{}
	}
	*o.problems = append(*o.problems, payment.FieldProblem{Field: field, Message: msg})
}

// raw returns a present, non-null field and marks it known.
func (o *object) raw(name string) (json.RawMessage, bool) {
	if o.used == nil {
		o.used = map[string]bool{}
	}
	o.used[name] = true
	v, ok := o.fields[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, true
}

func (o *object) str(name string, dst *string) {
	if v, ok := o.raw(name); ok {
		if err := json.Unmarshal(v, dst); err != nil {
			o.add(o.field(name), "must be a string")
		}
	}
}

func (o *object) boolean(name string, dst *bool) {
	v, ok := o.raw(name)
	if !ok {
		return
	}
	switch string(bytes.TrimSpace(v)) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		o.add(o.field(name), "must be true or false")
	}
}

func (o *object) integer(name string, dst *int) {
	v, ok := o.raw(name)
	if !ok {
		return
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 32)
	if err != nil {
		o.add(o.field(name), "must be a whole number")
		return
	}
	*dst = int(n)
}

// amount accepts a decimal string ("149.90") or a JSON number (149.90),
// keeping the number's exact text: it never passes through float64.
func (o *object) amount(name string, dst *string) {
	v, ok := o.raw(name)
	if !ok {
		return
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		if err := json.Unmarshal(v, dst); err != nil {
			o.add(o.field(name), "must be a decimal string or number")
		}
		return
	}
	if len(v) == 0 || !(v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		o.add(o.field(name), "must be a decimal string like \"149.90\" or a number")
		return
	}
	*dst = string(v)
}

func (o *object) child(name string, v json.RawMessage) (*object, bool) {
	c := &object{path: o.field(name), problems: o.problems}
	if err := json.Unmarshal(v, &c.fields); err != nil || c.fields == nil {
		o.add(o.field(name), "must be an object")
		return nil, false
	}
	return c, true
}

// objectField decodes a nested object with fn.
func (o *object) objectField(name string, fn func(*object)) {
	v, ok := o.raw(name)
	if !ok {
		return
	}
	if c, ok := o.child(name, v); ok {
		fn(c)
		c.done()
	}
}

// array decodes an array of objects with fn, one call per element.
func (o *object) array(name string, fn func(i int, c *object)) {
	v, ok := o.raw(name)
	if !ok {
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		o.add(o.field(name), "must be an array")
		return
	}
	for i, item := range items {
		elem := fmt.Sprintf("%s[%d]", name, i)
		if c, ok := o.child(elem, item); ok {
			fn(i, c)
			c.done()
		}
	}
}

// done reports every field nobody asked for: unknown fields are errors.
func (o *object) done() {
	var unknown []string
	for k := range o.fields {
		if !o.used[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		o.add(o.field(k), "is not a known field")
	}
}

// err returns the problems found, or nil.
func (o *object) err() error {
	if o.problems == nil || len(*o.problems) == 0 {
		return nil
	}
	return &payment.ValidationError{Problems: *o.problems}
}
