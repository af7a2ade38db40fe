package inspector

import (
	"net/url"
	"reflect"
	"testing"
)

func TestPayloadForm(t *testing.T) {
	type Plain struct {
		Name  string
		Count int
		Rate  float64
		OK    bool
	}
	type Nested struct {
		Name  string
		Items []string
	}
	type Tagged struct {
		Name string `json:"name"`
	}
	if f := formFields(reflect.TypeFor[Plain]()); len(f) != 4 || f[1].Input != "number" || f[1].Step != "1" || f[2].Step != "any" || f[3].Input != "checkbox" {
		t.Fatalf("Plain: %+v", f)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Nested](), reflect.TypeFor[Tagged](), reflect.TypeFor[[]int](), reflect.TypeFor[struct{}](), nil} {
		if f := formFields(typ); f != nil {
			t.Errorf("%v: a form %+v, want JSON", typ, f)
		}
	}
	got, err := fieldsJSON(reflect.TypeFor[Plain](), url.Values{"field.Name": {"ada"}, "field.Count": {"3"}, "field.Rate": {"0.5"}, "field.OK": {"true"}})
	if err != nil || string(got) != `{"Count":3,"Name":"ada","OK":true,"Rate":0.5}` {
		t.Fatalf("Plain: %s, %v", got, err)
	}
	// Unchecked box, empty number: false and zero.
	if got, err := fieldsJSON(reflect.TypeFor[Plain](), url.Values{}); err != nil || string(got) != `{"Count":0,"Name":"","OK":false,"Rate":0}` {
		t.Fatalf("empty: %s, %v", got, err)
	}
	if _, err := fieldsJSON(reflect.TypeFor[Plain](), url.Values{"field.Count": {"three"}}); err == nil {
		t.Fatal("a bad number was accepted")
	}
	if got, err := fieldsJSON(reflect.TypeFor[int](), url.Values{"field.": {"7"}}); err != nil || string(got) != "7" {
		t.Fatalf("lone int: %s, %v", got, err)
	}
	if _, err := fieldsJSON(reflect.TypeFor[Nested](), url.Values{}); err == nil {
		t.Fatal("fields for a payload that needs JSON")
	}
}
