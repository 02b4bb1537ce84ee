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

// Delete, Update and Merge from Go: each reports what it did and the table reads as expected.
func TestTableDeleteUpdateMerge(t *testing.T) {
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	table, err := lake.Table("gold/people")
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()
	ipc, err := Scan(people, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Append(bytes.NewReader(ipc), nil); err != nil {
		t.Fatal(err)
	}
	decode := decoder(t)
	deleted, err := table.Delete("id < 10")
	if err != nil {
		t.Fatal(err)
	}
	if deleted.RowsDeleted != 10 || deleted.Version == nil || *deleted.Version != 1 {
		t.Fatalf("delete: %+v", deleted)
	}
	none, err := table.Delete("id < 10")
	if err != nil || none.Version != nil {
		t.Fatalf("delete of nothing: %+v %v", none, err)
	}
	if _, err := table.Delete("nope = 1"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("unknown column: %v", err)
	}
	updated, err := table.Update("id >= 90", "id = id")
	if err != nil || updated.RowsUpdated != 10 {
		t.Fatalf("update: %+v %v", updated, err)
	}
	// Merging the original 100 rows back: 90 match (updated), the 10 deleted are inserted.
	merged, err := table.Merge(bytes.NewReader(ipc), MergeOptions{On: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	if merged.RowsUpdated != 90 || merged.RowsInserted != 10 {
		t.Fatalf("merge: %+v", merged)
	}
	if got := len(decode(table.ScanVersion(-1, []string{"id"}, "")).rows); got != 100 {
		t.Fatalf("after merge: %d rows", got)
	}
	if _, err := table.Merge(bytes.NewReader(ipc), MergeOptions{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("merge without keys: %v", err)
	}
	history, err := table.History()
	if err != nil || *history[0].Operation != "MERGE" || history[0].Metrics["numTargetRowsInserted"] != float64(10) {
		t.Fatalf("history: %+v %v", history[0], err)
	}
	optimized, err := table.Optimize(OptimizeOptions{})
	if err != nil || optimized.Version == nil || optimized.FilesAfter >= optimized.FilesBefore {
		t.Fatalf("optimize: %+v %v", optimized, err)
	}
	if got := len(decode(table.ScanVersion(-1, []string{"id"}, "")).rows); got != 100 {
		t.Fatalf("after optimize: %d rows", got)
	}
	if _, err := table.Optimize(OptimizeOptions{ZorderBy: []string{"nope"}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("z-order by an unknown column: %v", err)
	}
}
