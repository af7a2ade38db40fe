package inspector

import (
	"testing"
	"unicode/utf8"
)

// TestBefore: before(p) is less than p, valid UTF-8 when p is, and no
// string with a valid last character sorts between it and p except those
// that extend it.
func TestBefore(t *testing.T) {
	for _, p := range []string{"a", "order-05", "ordé", "x\u00e0", "a\U0010FFFF", "a\x00", "a\ue000", "\x00", "bad\xff"} {
		b := before(p)
		if !(b < p) {
			t.Errorf("before(%q) = %q, not less", p, b)
		}
		if utf8.ValidString(p) && !utf8.ValidString(b) {
			t.Errorf("before(%q) = %q, not UTF-8", p, b)
		}
	}
	if got, want := before("order-05"), "order-04\U0010FFFF"; got != want {
		t.Errorf("before(order-05) = %q, want %q", got, want)
	}
}
