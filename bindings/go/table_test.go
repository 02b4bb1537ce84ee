package strata

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// A table made by its first Append, appended to from 8 goroutines at once (every commit
// lands), read at the latest version, at version 0 and as of now, with its history.
func TestTableAppendScanHistory(t *testing.T) {
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	if _, err := lake.Table("platinum/people"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("unknown zone: %v", err)
	}
	table, err := lake.Table("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()
	ipc, err := Scan(people, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.ScanVersion(-1, nil, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("scan before create: %v", err)
	}
	commit, err := table.Append(bytes.NewReader(ipc), &TableOptions{Description: "from Go"})
	if err != nil {
		t.Fatal(err)
	}
	if commit.Version != 0 || commit.Rows != 100 {
		t.Fatalf("first commit: %+v", commit)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := table.Append(bytes.NewReader(ipc), nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	decode := decoder(t)
	if got := len(decode(table.ScanVersion(-1, []string{"id"}, "")).rows); got != 900 {
		t.Fatalf("latest: %d rows", got)
	}
	if got := len(decode(table.ScanVersion(0, nil, "id < 10")).rows); got != 10 {
		t.Fatalf("version 0: %d rows", got)
	}
	if got := len(decode(table.ScanAsOf(time.Now(), nil, "")).rows); got != 900 {
		t.Fatalf("as of now: %d rows", got)
	}
	if _, err := table.ScanVersion(99, nil, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 99: %v", err)
	}
	history, err := table.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 9 || history[0].Version != 8 || *history[8].Operation != "CREATE TABLE" {
		t.Fatalf("history: %+v", history)
	}
	// The table outlives its lake handle; a closed table says so.
	lake.Close()
	if got := len(decode(table.ScanVersion(-1, nil, "")).rows); got != 900 {
		t.Fatalf("after lake close: %d rows", got)
	}
	table.Close()
	if _, err := table.History(); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed table: %v", err)
	}
}
