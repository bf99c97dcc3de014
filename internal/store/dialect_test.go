package store

import "testing"

func TestSQLiteHotParameters(t *testing.T) {
	if got := sqliteDialectHot(`INSERT INTO t (a, b) VALUES ($1, $2)`); got != `INSERT INTO t (a, b) VALUES (?, ?)` {
		t.Errorf("got %q", got)
	}
	if got := sqliteDialectHot(insertEventSQL); got == insertEventSQL {
		t.Errorf("the event insert was not rewritten")
	}
	for _, bad := range []string{`SELECT $1, $1`, `SELECT $2, $1`, `SELECT $1, $3`, `SELECT $x`} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%q was rewritten; it cannot take ? parameters", bad)
				}
			}()
			sqliteDialectHot(bad)
		}()
	}
}
