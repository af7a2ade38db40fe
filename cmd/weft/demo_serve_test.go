package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoServe: demo --serve runs the demo, then serves the inspector
// on its store until interrupted.
func TestDemoServe(t *testing.T) {
	var out, errb syncBuffer
	p := program()
	p.Stdout, p.Stderr = &out, &errb
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- p.Main(ctx, []string{"demo", "--serve", "--addr", "127.0.0.1:0"}) }()
	re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+/)`)
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no URL printed:\n%s\n%s", out.String(), errb.String())
	}
	resp, err := http.Get(base + "instance?id=order-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Instance <code>order-1</code>") {
		t.Errorf("instance page: %d\n%.2000s", resp.StatusCode, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo --serve exited %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo --serve did not stop")
	}
}

func TestDemoServeRefusesNonLoopback(t *testing.T) {
	if code, _, errs := run(t, "demo", "--serve", "--addr", "0.0.0.0:0"); code != 2 || !strings.Contains(errs, "loopback") {
		t.Errorf("exit %d: %s", code, errs)
	}
}
