package vet

import "testing"

func TestIsStd(t *testing.T) {
	for path, want := range map[string]bool{
		"time": true, "math/rand/v2": true, "net/http": true, "vendor/golang.org/x/net/idna": true, "internal/abi": true,
		"myapp": false, "myapp/workflows": false, "example.com/x": false, "github.com/weftflow/weft/dsl": false,
		"timeline": false, "osutil/x": false,
	} {
		if got := isStd(path); got != want {
			t.Errorf("isStd(%q) = %v, want %v", path, got, want)
		}
	}
}
