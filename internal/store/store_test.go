package store_test

import (
	"testing"

	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

func TestSQLite(t *testing.T)   { storetest.Run(t, storetest.OpenSQLite) }
func TestPostgres(t *testing.T) { storetest.Run(t, storetest.OpenPostgres) }
