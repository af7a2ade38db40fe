package postgres_test

import (
	"testing"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/storagetest"
)

func TestConformance(t *testing.T) {
	needServer(t)
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) storage.Store { return openFresh(t) })
}
