package postgres_test

import (
	"testing"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/postgres"
	"github.com/weftflow/weft/storage/storagetest"
)

func TestConformance(t *testing.T) {
	needServer(t)
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) storage.Store { return openFresh(t) },
		// A second Open on the same schema is a second process on the
		// same database: the suite races the two for claims.
		storagetest.WithShared(func(t *testing.T, first storage.Store) storage.Store {
			return openSchema(t, first.(*postgres.Store).Schema())
		}))
}
