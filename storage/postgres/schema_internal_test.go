package postgres

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for _, c := range []struct {
		name  string
		files fstest.MapFS
		want  string // in the error; "" for success
	}{
		{"ok", fstest.MapFS{"migrations/0001_a.sql": sql, "migrations/0002_b.sql": sql}, ""},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": sql, "migrations/0003_c.sql": sql}, "want 2"},
		{"not first", fstest.MapFS{"migrations/0002_b.sql": sql}, "want 1"},
		{"no number", fstest.MapFS{"migrations/init.sql": sql}, "not named"},
		{"not sql", fstest.MapFS{"migrations/0001_a.txt": sql}, "not named"},
		{"empty", fstest.MapFS{"migrations/.keep": nil}, "not named"},
		{"none", fstest.MapFS{"other/x": sql}, "migrations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, err := loadMigrations(c.files)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("loadMigrations: %v", err)
			case c.want == "" && len(ms) != 2:
				t.Fatalf("loadMigrations = %d migrations, want 2", len(ms))
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("loadMigrations: %v, want an error containing %q", err, c.want)
			}
		})
	}
	if SchemaVersion != len(migrations) || SchemaVersion < 1 {
		t.Errorf("SchemaVersion = %d with %d migrations", SchemaVersion, len(migrations))
	}
}
