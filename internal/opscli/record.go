package opscli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bridgedpos/bridged/internal/apitype"
	"github.com/bridgedpos/bridged/internal/safetext"
)

// printRecord shows every field of an operation the API shows, by name, one
// a line: tx show, resolve, settle and acknowledge. A field the API leaves
// empty or null is left out; a field with parts shows them as JSON.
func printRecord(w io.Writer, p apitype.Payment) error {
	doc, err := jsonDoc(p)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, m := range doc.members {
		if v := m.val.field(); v != "" && v != "null" {
			fmt.Fprintf(tw, "%s:\t%s\n", safetext.Escape(m.key), safetext.Escape(v))
		}
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}

// writeJSONLine writes p as one line of the JSON-lines export: the API's
// document with every object's fields in the order of their names.
func writeJSONLine(w io.Writer, p apitype.Payment) error {
	doc, err := jsonDoc(p)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	doc.writeJSON(&b)
	b.WriteByte('\n')
	_, err = w.Write(b.Bytes())
	return err
}

// jsonValue is one value of a JSON document as the API wrote it: a string,
// a number's text, true, false, null, an object (its members sorted by
// name) or an array. It is how the operator verbs print a document whole;
// they read its fields from the typed apitype value.
type jsonValue struct {
	kind    byte // '"' string, '0' number, 'b' true or false, 'z' null, '{' object, '[' array
	text    string
	members []jsonMember
	elems   []jsonValue
}

type jsonMember struct {
	key string
	val jsonValue
}

// jsonDoc is v's JSON document.
func jsonDoc(v any) (jsonValue, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return jsonValue{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return readJSONValue(dec)
}

func readJSONValue(dec *json.Decoder) (jsonValue, error) {
	tok, err := dec.Token()
	if err != nil {
		return jsonValue{}, err
	}
	switch t := tok.(type) {
	case string:
		return jsonValue{kind: '"', text: t}, nil
	case json.Number:
		return jsonValue{kind: '0', text: t.String()}, nil
	case bool:
		return jsonValue{kind: 'b', text: fmt.Sprint(t)}, nil
	case nil:
		return jsonValue{kind: 'z'}, nil
	}
	v := jsonValue{kind: byte(tok.(json.Delim))}
	for dec.More() {
		var key string
		if v.kind == '{' {
			k, err := dec.Token()
			if err != nil {
				return v, err
			}
			key = k.(string)
		}
		e, err := readJSONValue(dec)
		if err != nil {
			return v, err
		}
		if v.kind == '{' {
			v.members = append(v.members, jsonMember{key, e})
		} else {
			v.elems = append(v.elems, e)
		}
	}
	sort.SliceStable(v.members, func(i, j int) bool { return v.members[i].key < v.members[j].key })
	_, err = dec.Token() // the closing delimiter
	return v, err
}

// writeJSON writes v compact, objects' members sorted by name, strings
// escaped as encoding/json escapes them.
func (v jsonValue) writeJSON(b *bytes.Buffer) {
	switch v.kind {
	case '"':
		s, _ := json.Marshal(v.text)
		b.Write(s)
	case '0', 'b':
		b.WriteString(v.text)
	case 'z':
		b.WriteString("null")
	case '{':
		b.WriteByte('{')
		for i, m := range v.members {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(m.key)
			b.Write(k)
			b.WriteByte(':')
			m.val.writeJSON(b)
		}
		b.WriteByte('}')
	case '[':
		b.WriteByte('[')
		for i, e := range v.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			e.writeJSON(b)
		}
		b.WriteByte(']')
	}
}

// field is a top-level field's value as printRecord shows it: a string or
// number as such, null as nothing, an object as JSON, an array as a list of
// its elements.
func (v jsonValue) field() string {
	switch v.kind {
	case 'z':
		return ""
	case '{':
		var b bytes.Buffer
		v.writeJSON(&b)
		return b.String()
	}
	return v.listed()
}

// listed is v inside an array as the field shows it: [a b], an object as
// map[name:value ...], null as <nil>.
func (v jsonValue) listed() string {
	switch v.kind {
	case 'z':
		return "<nil>"
	case '{':
		parts := make([]string, len(v.members))
		for i, m := range v.members {
			parts[i] = m.key + ":" + m.val.listed()
		}
		return "map[" + strings.Join(parts, " ") + "]"
	case '[':
		parts := make([]string, len(v.elems))
		for i, e := range v.elems {
			parts[i] = e.listed()
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return v.text
}
