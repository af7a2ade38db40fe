package cli_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage/bolt"
)

type tally struct{ N int }

func add(s *tally, n int) (int, error) { s.N += n; return s.N, nil }

var tallyV1 = dsl.MustCompile[tally]("tally", dsl.For("loop", dsl.Wait("next", dsl.On("add", dsl.Signal(add)))))

// tallyV2 refuses amounts over 5: traffic the first version took.
var tallyV2 = dsl.MustCompile[tally]("tally", dsl.For("loop", dsl.Wait("next", dsl.On("add", dsl.Signal(func(s *tally, n int) (int, error) {
	if n > 5 {
		return 0, errors.New("too much")
	}
	return add(s, n)
})))), dsl.Version(2))

// journaledStore writes a store whose instances "small" and "big" have a
// journal, and "plain" none.
func journaledStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, c := range []struct {
		id      string
		journal bool
		amounts []int
	}{{"small", true, []int{1, 2, 3}}, {"big", true, []int{1, 9}}, {"plain", false, []int{9}}} {
		var opts []engine.Option
		if c.journal {
			opts = append(opts, engine.WithJournal("", journal.Policy{}))
		}
		e := newEngine(t, st, opts...)
		if err := e.Register(tallyV1); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(ctx, tallyV1, c.id, tally{}); err != nil {
			t.Fatal(err)
		}
		for _, n := range c.amounts {
			if err := e.Send(ctx, c.id, "add", n, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return path
}

func TestVerifyReplay(t *testing.T) {
	path := journaledStore(t)
	p, out, _ := tool(tallyV1)
	p.Upgrades = []*dsl.Definition{tallyV2}
	if code := runTool(p, "verify", "--db", path, "--replay"); code != 1 {
		t.Fatalf("exit %d, want 1 (big diverges)\n%s", code, out)
	}
	got := out.String()
	for _, want := range []string{
		"BROKEN big (tally, running): replay differs",
		"entry #3: rejected",
		"replayed the journals of 2 instances; 1 instance kept none",
		"1 broken",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "BROKEN small") || strings.Contains(got, "BROKEN plain") {
		t.Errorf("an instance whose traffic replays alike was reported broken:\n%s", got)
	}
	// Without --replay, v2 verifies: the traffic is what tells.
	p, out, _ = tool(tallyV1)
	p.Upgrades = []*dsl.Definition{tallyV2}
	if code := runTool(p, "verify", "--db", path); code != 0 {
		t.Fatalf("static verify: exit %d\n%s", code, out)
	}
}

func TestInspectHistory(t *testing.T) {
	path := journaledStore(t)
	p, out, _ := tool(tallyV1)
	if code := runTool(p, "inspect", "--db", path, "small", "--history"); code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "#1 ") || !strings.Contains(lines[3], `event "add" received at loop/next with 3`) {
		t.Fatalf("history:\n%s", out)
	}
	p, out, _ = tool(tallyV1)
	if code := runTool(p, "inspect", "--db", path, "small", "--history", "--json"); code != 0 || !strings.Contains(out.String(), `"payload": 3`) {
		t.Fatalf("exit %d, json:\n%s", code, out)
	}
	p, out, _ = tool(tallyV1)
	if code := runTool(p, "inspect", "--db", path, "plain", "--history"); code != 0 || !strings.Contains(out.String(), "no journal") {
		t.Fatalf("exit %d, no journal:\n%s", code, out)
	}
	p, out, _ = tool(tallyV1)
	if code := runTool(p, "inspect", "--db", path, "--history"); code != 2 {
		t.Fatalf("--history without ID: exit %d\n%s", code, out)
	}
}
