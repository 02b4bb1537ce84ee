package strata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// lineageEvents collects what a lineage callback receives, from any thread.
type lineageEvents struct {
	mu     sync.Mutex
	events []map[string]any
	bad    []string
}

func (e *lineageEvents) receive(event string) {
	var doc map[string]any
	err := json.Unmarshal([]byte(event), &doc)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil || event[0] != '{' || doc["eventType"] == nil {
		e.bad = append(e.bad, event)
		return
	}
	e.events = append(e.events, doc)
}

// types returns the event types received so far, and forgets them.
func (e *lineageEvents) types(t *testing.T) []string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.bad) > 0 {
		t.Fatalf("malformed events: %q", e.bad)
	}
	var types []string
	for _, doc := range e.events {
		types = append(types, doc["eventType"].(string))
	}
	e.events = nil
	return types
}

// A table handle reading a file and a table records lineage from them; a lineage callback gets
// START and COMPLETE for each append (FAIL for a refused one), from every handle on the lake,
// concurrently, and nothing once cleared; bad sources are ErrInvalidArgument.
func TestCatalogReadingAndLineageCallback(t *testing.T) {
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake := openTemp(t)
	ipc, err := Scan(people, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var seen lineageEvents
	if err := lake.SetLineageCallback(seen.receive); err != nil {
		t.Fatal(err)
	}
	table, err := lake.Table("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	defer table.Close()
	reader, err := table.Reading(FileSource(people), TableSource("bronze/people", 3), ObjectSource("landing/a"))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if _, err := reader.Append(bytes.NewReader(ipc), nil); err != nil {
		t.Fatal(err)
	}
	seen.mu.Lock()
	if len(seen.events) != 2 {
		t.Fatalf("events: %v", seen.events)
	}
	inputs, _ := seen.events[1]["inputs"].([]any)
	seen.mu.Unlock()
	if len(inputs) != 3 {
		t.Fatalf("COMPLETE's inputs: %v", inputs)
	}
	if types := seen.types(t); !slices.Equal(types, []string{"START", "COMPLETE"}) {
		t.Fatalf("event types: %v", types)
	}

	walk, err := lake.Lineage("silver/people", "upstream", -1)
	if err != nil {
		t.Fatal(err)
	}
	edges, _ := walk["edges"].([]any)
	from := map[string]bool{}
	for _, e := range edges {
		f := e.(map[string]any)["from"].(map[string]any)
		from[fmt.Sprint(f["kind"], " ", f["name"], " ", f["version"])] = true
	}
	for _, want := range []string{"file " + people + " <nil>", "table bronze/people 3", "object landing/a <nil>"} {
		if !from[want] {
			t.Errorf("no edge from %s: %v", want, edges)
		}
	}
	// The handle it came from records no inputs.
	if _, err := table.Append(bytes.NewReader(ipc), nil); err != nil {
		t.Fatal(err)
	}
	seen.types(t)
	if walk, err := lake.Lineage(people, "downstream", -1); err != nil || len(walk["edges"].([]any)) != 1 {
		t.Fatalf("downstream of the file: %v %v", walk, err)
	}

	// A refused append: START, then FAIL.
	ids, err := Scan(people, []string{"id"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Append(bytes.NewReader(ids), nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("append of other columns: %v", err)
	}
	if types := seen.types(t); !slices.Equal(types, []string{"START", "FAIL"}) {
		t.Fatalf("event types of a refused append: %v", types)
	}

	// The callback is the lake's: a job's appends reach it, from goroutines at once, and a
	// panicking callback loses its event, not the write.
	job, err := lake.WithJob("etl")
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jt, err := job.Table("silver/people")
			if err != nil {
				errs <- err
				return
			}
			defer jt.Close()
			_, err = jt.Append(bytes.NewReader(ipc), nil)
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
	types := seen.types(t)
	slices.Sort(types)
	if !slices.Equal(types, []string{"COMPLETE", "COMPLETE", "COMPLETE", "COMPLETE", "START", "START", "START", "START"}) {
		t.Fatalf("event types of the job's appends: %v", types)
	}
	if err := job.SetLineageCallback(func(string) { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	if _, err := table.Append(bytes.NewReader(ipc), nil); err != nil {
		t.Fatalf("append with a panicking callback: %v", err)
	}

	// Cleared (through either handle): no more events.
	if err := lake.SetLineageCallback(seen.receive); err != nil {
		t.Fatal(err)
	}
	if err := job.SetLineageCallback(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := table.Append(bytes.NewReader(ipc), nil); err != nil {
		t.Fatal(err)
	}
	if types := seen.types(t); len(types) != 0 {
		t.Fatalf("events after clearing: %v", types)
	}

	one := int64(1)
	for what, sources := range map[string][]Source{
		"unknown kind":      {{Kind: "x", Name: "a"}},
		"empty name":        {FileSource("")},
		"version on a file": {{Kind: "file", Name: "a", Version: &one}},
		"negative version":  {{Kind: "table", Name: "a", Version: func() *int64 { v := int64(-1); return &v }()}},
		"no kind":           {{Name: "a"}},
		"one good, one bad": {FileSource("a"), {Kind: "view", Name: "b"}},
	} {
		if _, err := table.Reading(sources...); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if none, err := table.Reading(); err != nil {
		t.Fatalf("no sources: %v", err)
	} else {
		none.Close()
	}
	reader.Close()
	if _, err := reader.Reading(); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed table: %v", err)
	}
	lake.Close()
	if err := lake.SetLineageCallback(seen.receive); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed lake: %v", err)
	}
	if err := lake.SetLineageCallback(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed lake, clearing: %v", err)
	}
}

// callbackWithMarker returns a callback and a flag set once the callback is garbage.
func callbackWithMarker() (func(string), *atomic.Bool) {
	freed := new(atomic.Bool)
	marker := new([64]byte)
	runtime.SetFinalizer(marker, func(*[64]byte) { freed.Store(true) })
	return func(string) { _ = marker[0] }, freed
}

// collected runs the GC until freed is set (true), or gives up (false).
func collected(freed *atomic.Bool) bool {
	for range 20 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		if freed.Load() {
			return true
		}
	}
	return false
}

// strata lets go of a Go lineage callback when it is replaced, cleared, or the lake and its
// tables are all closed, and not before.
func TestLineageCallbackIsReleased(t *testing.T) {
	lake := openTemp(t)
	f, freed := callbackWithMarker()
	if err := lake.SetLineageCallback(f); err != nil {
		t.Fatal(err)
	}
	f = nil
	if collected(freed) {
		t.Fatal("the callback was collected while set")
	}
	g, freedG := callbackWithMarker()
	if err := lake.SetLineageCallback(g); err != nil {
		t.Fatal(err)
	}
	g = nil
	if !collected(freed) {
		t.Fatal("the replaced callback was not released")
	}
	if err := lake.SetLineageCallback(nil); err != nil {
		t.Fatal(err)
	}
	if !collected(freedG) {
		t.Fatal("the cleared callback was not released")
	}

	h, freedH := callbackWithMarker()
	if err := lake.SetLineageCallback(h); err != nil {
		t.Fatal(err)
	}
	h = nil
	table, err := lake.Table("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	lake.Close()
	if collected(freedH) {
		t.Fatal("the callback was released while a table of the lake was open")
	}
	table.Close()
	if !collected(freedH) {
		t.Fatal("the callback was not released with the lake")
	}
}
