package main

import (
	"os"
	"testing"

	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Close() // drop the PostgreSQL databases this process made
	os.Exit(code)
}
