package strata

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// appendPeople appends the people file's rows (as Arrow IPC) to silver/people through lake.
func appendPeople(t *testing.T, lake *Lake, ipc []byte, options *TableOptions) {
	t.Helper()
	table, err := lake.Table("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()
	if _, err := table.Append(bytes.NewReader(ipc), options); err != nil {
		t.Fatal(err)
	}
}

// A table's entry lists, searches, shows (strata's JSON and Unity's), takes tags and
// descriptions and has lineage; a Parquet file and an object prefix register; bad input is an
// error of the right kind.
func TestCatalogEntriesTagsDescriptionsLineage(t *testing.T) {
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake := openTemp(t)
	ipc, err := Scan(people, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := lake.CatalogList(nil); err != nil || len(entries) != 0 {
		t.Fatalf("empty catalog: %+v %v", entries, err)
	}
	appendPeople(t, lake, ipc, &TableOptions{Description: "people from Go"})

	entries, err := lake.CatalogList(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("entries: %+v", entries)
	}
	e := entries[0]
	if e.Name != "silver/people" || e.Zone != "silver" || e.Kind != "table" || e.Format != "delta" ||
		e.Rows == nil || *e.Rows != 100 || e.Version == nil || *e.Version != 0 ||
		e.Description != "people from Go" || e.Files == 0 || e.Bytes == 0 {
		t.Fatalf("entry: %+v", e)
	}
	if i := slices.IndexFunc(e.Columns, func(c CatalogColumn) bool { return c.Name == "email" }); i < 0 ||
		e.Columns[i].DataType != "Utf8" {
		t.Fatalf("columns: %+v", e.Columns)
	}
	found, err := lake.CatalogList(&CatalogQuery{Text: "people", Kind: "table", Type: "string"})
	if err != nil || len(found) != 1 || found[0].Name != "silver/people" {
		t.Fatalf("search: %+v %v", found, err)
	}
	if found, err := lake.CatalogList(&CatalogQuery{Zone: "gold"}); err != nil || len(found) != 0 {
		t.Fatalf("search of gold: %+v %v", found, err)
	}
	unity, err := lake.CatalogShowUnity("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	if unity["full_name"] != "strata.silver.people" || unity["data_source_format"] != "DELTA" {
		t.Fatalf("unity: %v", unity)
	}

	// Tags, from goroutines at once: every one lands.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- lake.CatalogTag("silver/people", fmt.Sprintf("t%d", i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := lake.CatalogTag("silver/people", "pii", "daily"); err != nil {
		t.Fatal(err)
	}
	if err := lake.CatalogUntag("silver/people", "daily", "t0", "t1", "t2", "t3", "t4", "t5", "t6"); err != nil {
		t.Fatal(err)
	}
	tagged, err := lake.CatalogList(&CatalogQuery{Tag: "pii"})
	if err != nil || len(tagged) != 1 || !slices.Equal(tagged[0].Tags, []string{"pii", "t7"}) {
		t.Fatalf("tagged: %+v %v", tagged, err)
	}

	if err := lake.CatalogDescribe("silver/people", "", "Everyone we know"); err != nil {
		t.Fatal(err)
	}
	if err := lake.CatalogDescribe("silver/people", "email", "Where to write to them"); err != nil {
		t.Fatal(err)
	}
	shown, err := lake.CatalogShow("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	email := shown.Columns[slices.IndexFunc(shown.Columns, func(c CatalogColumn) bool { return c.Name == "email" })]
	if shown.Description != "Everyone we know" || email.Description != "Where to write to them" {
		t.Fatalf("described: %+v", shown)
	}
	if found, err := lake.CatalogList(&CatalogQuery{Text: "write"}); err != nil || len(found) != 1 {
		t.Fatalf("search of a column description: %+v %v", found, err)
	}

	walk, err := lake.Lineage("silver/people", "both", -1)
	if err != nil {
		t.Fatal(err)
	}
	if start, _ := walk["start"].(map[string]any); start["name"] != "silver/people" || start["kind"] != "table" {
		t.Fatalf("lineage: %v", walk)
	}
	if _, err := lake.Lineage("silver/people", "upstream", 1<<40); err != nil {
		t.Fatal(err)
	}

	dataset, err := lake.CatalogRegister("raw/people_file", people, "dataset")
	if err != nil {
		t.Fatal(err)
	}
	if dataset.Kind != "dataset" || dataset.Format != "parquet" || dataset.Rows == nil || *dataset.Rows != 100 {
		t.Fatalf("dataset: %+v", dataset)
	}
	if err := lake.PutBytes("landing/a", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := lake.PutBytes("landing/b", []byte("world!")); err != nil {
		t.Fatal(err)
	}
	objects, err := lake.CatalogRegister("raw/landing", "landing/", "objects")
	if err != nil {
		t.Fatal(err)
	}
	if objects.Kind != "objects" || objects.Files != 2 || objects.Bytes != 11 || objects.Rows != nil {
		t.Fatalf("objects: %+v", objects)
	}
	if all, err := lake.CatalogList(nil); err != nil || len(all) != 3 || all[0].Name != "raw/landing" {
		t.Fatalf("all, by name: %+v %v", all, err)
	}

	for what, err := range map[string]error{
		"kind table":       func() error { _, err := lake.CatalogRegister("raw/x", people, "table"); return err }(),
		"unknown kind":     func() error { _, err := lake.CatalogList(&CatalogQuery{Kind: "view"}); return err }(),
		"no tags":          lake.CatalogTag("silver/people"),
		"unknown column":   lake.CatalogDescribe("silver/people", "nope", "x"),
		"direction":        func() error { _, err := lake.Lineage("silver/people", "sideways", -1); return err }(),
		"NUL in name":      func() error { _, err := lake.CatalogShow("silver/\x00people"); return err }(),
		"empty job":        func() error { _, err := lake.WithJob(""); return err }(),
		"unknown zone":     func() error { _, err := lake.CatalogRegister("platinum/x", people, "dataset"); return err }(),
		"control char tag": lake.CatalogTag("silver/people", "a\tb"),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v", what, err)
		}
	}
	for what, err := range map[string]error{
		"show":     func() error { _, err := lake.CatalogShow("silver/nobody"); return err }(),
		"unity":    func() error { _, err := lake.CatalogShowUnity("silver/nobody"); return err }(),
		"tag":      lake.CatalogTag("silver/nobody", "x"),
		"describe": lake.CatalogDescribe("silver/nobody", "", "x"),
		"lineage":  func() error { _, err := lake.Lineage("silver/nobody", "both", -1); return err }(),
		"dataset":  func() error { _, err := lake.CatalogRegister("raw/x", "/nonexistent/x.parquet", "dataset"); return err }(),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if _, err := lake.CatalogRegister("raw/landing", people, "dataset"); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("another kind: %v", err)
	}
}

// A job's handle records its table writes and annotations as the job's, and outlives the
// Lake it came from.
func TestCatalogWithJob(t *testing.T) {
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake := openTemp(t)
	ipc, err := Scan(people, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	appendPeople(t, lake, ipc, nil)
	before, err := lake.CatalogShow("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	job, err := lake.WithJob("nightly-etl")
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	appendPeople(t, job, ipc, nil)
	after, err := lake.CatalogShow("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	if after.UpdatedBy != "nightly-etl" || after.CreatedBy != before.CreatedBy ||
		after.CreatedBy == "nightly-etl" || after.Version == nil || *after.Version != 1 ||
		after.Rows == nil || *after.Rows != 200 {
		t.Fatalf("after the job's append: %+v (before: %+v)", after, before)
	}
	if err := lake.CatalogTag("silver/people", "mine"); err != nil {
		t.Fatal(err)
	}
	if e, err := job.CatalogShow("silver/people"); err != nil || e.UpdatedBy == "nightly-etl" {
		t.Fatalf("tagged through the lake: %+v %v", e, err)
	}
	if err := job.CatalogDescribe("silver/people", "", "Made nightly"); err != nil {
		t.Fatal(err)
	}
	if e, err := lake.CatalogShow("silver/people"); err != nil || e.UpdatedBy != "nightly-etl" ||
		e.Description != "Made nightly" {
		t.Fatalf("described through the job: %+v %v", e, err)
	}

	lake.Close()
	if _, err := lake.WithJob("other"); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed lake: %v", err)
	}
	if entries, err := job.CatalogList(nil); err != nil || len(entries) != 1 {
		t.Fatalf("the job's Lake after the lake's close: %+v %v", entries, err)
	}
	job.Close()
	if _, err := job.CatalogList(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed job: %v", err)
	}
}
