package inspector

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
)

// A payload form: when a custom event's payload is a struct of plain
// fields (text, numbers, booleans), or one such value, the send form has
// one input per field, built from the type; other payloads are typed as
// JSON. The fields post as "field.NAME" (NAME "" for a lone value), and
// fieldsJSON turns them back into the JSON the payload decodes from, so
// both forms reach the engine the same way.

// payloadField is one input of a payload form.
type payloadField struct {
	Name  string // the struct field's name; "" for a lone value
	Label string
	Input string // "text", "number" or "checkbox"
	Step  string // for numbers: "1" for integers, "any" for floats
}

// formFields returns the inputs of t's form, or nil if t needs JSON.
func formFields(t reflect.Type) []payloadField {
	if t == nil {
		return nil
	}
	if in, step, ok := inputOf(t.Kind()); ok {
		return []payloadField{{Label: t.String(), Input: in, Step: step}}
	}
	if t.Kind() != reflect.Struct || t.NumField() == 0 {
		return nil
	}
	var out []payloadField
	for i := range t.NumField() {
		f := t.Field(i)
		in, step, ok := inputOf(f.Type.Kind())
		if !f.IsExported() || !ok || f.Tag.Get("json") != "" {
			return nil // a field the form cannot show, or renamed in JSON: JSON it is
		}
		out = append(out, payloadField{Name: f.Name, Label: f.Name + " (" + f.Type.String() + ")", Input: in, Step: step})
	}
	return out
}

func inputOf(k reflect.Kind) (input, step string, ok bool) {
	switch k {
	case reflect.String:
		return "text", "", true
	case reflect.Bool:
		return "checkbox", "", true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "number", "1", true
	case reflect.Float32, reflect.Float64:
		return "number", "any", true
	}
	return "", "", false
}

// fieldsJSON builds the JSON of a payload of type t from the posted form
// fields (see formFields). Numbers are checked here so that a bad one is
// named; the payload's decoder checks the rest.
func fieldsJSON(t reflect.Type, form url.Values) ([]byte, error) {
	fields := formFields(t)
	if fields == nil {
		return nil, fmt.Errorf("a %s payload is sent as JSON", t)
	}
	value := func(f payloadField) (any, error) {
		raw := form.Get("field." + f.Name)
		switch f.Input {
		case "checkbox":
			return raw != "", nil
		case "number":
			if raw == "" {
				raw = "0"
			}
			if _, err := strconv.ParseFloat(raw, 64); err != nil {
				return nil, fmt.Errorf("%s: %q is not a number", f.Label, raw)
			}
			return json.Number(raw), nil
		}
		return raw, nil
	}
	if len(fields) == 1 && fields[0].Name == "" {
		v, err := value(fields[0])
		if err != nil {
			return nil, err
		}
		return json.Marshal(v)
	}
	obj := make(map[string]any, len(fields))
	for _, f := range fields {
		v, err := value(f)
		if err != nil {
			return nil, err
		}
		obj[f.Name] = v
	}
	return json.Marshal(obj)
}
