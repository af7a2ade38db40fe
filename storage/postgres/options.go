package postgres

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/weftflow/weft/storage"
)

// DefaultSchema is the schema a store uses unless [WithSchema] names another.
const DefaultSchema = "weft"

// maxIdentLen is the longest identifier Postgres keeps (NAMEDATALEN - 1);
// longer names would be truncated silently, so they are refused.
const maxIdentLen = 63

// Option configures [Open], [OpenPool] and [Migrate].
type Option func(*config)

// config is what the options set.
type config struct {
	schema  string
	migrate bool
}

func newConfig(opts []Option) (config, error) {
	c := config{schema: DefaultSchema, migrate: true}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := ValidateSchemaName(c.schema); err != nil {
		return config{}, err
	}
	return c, nil
}

// WithSchema makes the store keep its tables in the named schema instead of
// [DefaultSchema]. The name is used verbatim (quoted, so case and any
// characters are kept) and must pass [ValidateSchemaName]. Stores opened on
// the same database and schema share their data: that is how several
// processes work on one store.
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithoutMigrate leaves migrations to the operator: Open does not create or
// change anything, it only checks that the schema is at the version this
// package needs, and fails with [ErrSchemaTooOld] or [ErrSchemaTooNew]
// otherwise. Apply the SQL of [MigrationSQL], or call [Migrate], beforehand.
func WithoutMigrate() Option {
	return func(c *config) { c.migrate = false }
}

// ValidateSchemaName reports whether name can name the store's schema: it
// must be non-empty valid UTF-8 of at most 63 bytes without NUL, and must not
// start with "pg_" (reserved by Postgres). Errors wrap [storage.ErrInvalid].
func ValidateSchemaName(name string) error {
	var problem string
	switch {
	case name == "":
		problem = "is empty"
	case len(name) > maxIdentLen:
		problem = fmt.Sprintf("is %d bytes, more than %d", len(name), maxIdentLen)
	case !utf8.ValidString(name):
		problem = "is not valid UTF-8"
	case strings.ContainsRune(name, 0):
		problem = "contains NUL"
	case strings.HasPrefix(name, "pg_"):
		problem = `starts with "pg_", which Postgres reserves`
	}
	if problem != "" {
		return fmt.Errorf("storage: postgres: schema name %q %s: %w", name, problem, storage.ErrInvalid)
	}
	return nil
}
