package strata

/*
#include <stdint.h>
#include <stdlib.h>
#include "strata.h"

// The Go receivers of strata_lake_set_lineage_callback, exported below.
extern void strataGoLineageEvent(char *event_json, void *user_data);
extern void strataGoLineageFree(void *user_data);
*/
import "C"

import (
	"encoding/json"
	"math"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// CatalogMark is a column's classification: what personal data it holds.
type CatalogMark struct {
	// Class is "email", "phone", "credit_card", "national_id", "person_name", or "none".
	Class string `json:"class"`
	// Source is "inferred", "confirmed" or "override".
	Source string `json:"source"`
	// Share is, for an inferred mark, the share of sampled values that matched.
	Share *float64 `json:"share,omitempty"`
}

// CatalogColumn is one column of a catalog entry.
type CatalogColumn struct {
	Name string `json:"name"`
	// DataType is the Arrow type as Arrow prints it ("Int64", "Utf8").
	DataType       string       `json:"data_type"`
	Nullable       bool         `json:"nullable"`
	Description    string       `json:"description,omitempty"`
	Classification *CatalogMark `json:"classification,omitempty"`
}

// CatalogQuality is the last quality score recorded for an entry.
type CatalogQuality struct {
	Score float64 `json:"score"`
	At    int64   `json:"at"`
}

// CatalogEntry is what the catalog knows about a table, a registered Parquet dataset or a
// registered object prefix. Times are ms since the epoch; Owner, Description and Retention
// are empty when nobody set them.
type CatalogEntry struct {
	// Name is "zone/name".
	Name string `json:"name"`
	Zone string `json:"zone"`
	// Kind is "table", "dataset" or "objects".
	Kind string `json:"kind"`
	// Location is the directory, URL or key prefix.
	Location string `json:"location"`
	Tier     string `json:"tier"`
	// Format is "delta", "parquet" or "objects".
	Format      string            `json:"format"`
	Owner       string            `json:"owner"`
	Description string            `json:"description"`
	Tags        []string          `json:"tags"`
	Columns     []CatalogColumn   `json:"columns"`
	PartitionBy []string          `json:"partition_by"`
	Rows        *uint64           `json:"rows"`
	Bytes       uint64            `json:"bytes"`
	Files       uint64            `json:"files"`
	Version     *uint64           `json:"version"`
	Quality     *CatalogQuality   `json:"quality"`
	Retention   string            `json:"retention"`
	Properties  map[string]string `json:"properties"`
	CreatedAt   int64             `json:"created_at"`
	CreatedBy   string            `json:"created_by"`
	UpdatedAt   int64             `json:"updated_at"`
	UpdatedBy   string            `json:"updated_by"`
}

// CatalogQuery selects catalog entries; every field given must match.
type CatalogQuery struct {
	// Text holds words that must each appear in the entry's name, description, tags, owner,
	// column names or column descriptions (case-insensitive).
	Text  string `json:"text,omitempty"`
	Tag   string `json:"tag,omitempty"`
	Zone  string `json:"zone,omitempty"`
	Owner string `json:"owner,omitempty"`
	// Kind is "table", "dataset" or "objects".
	Kind string `json:"kind,omitempty"`
	// Classification is a class one of the entry's columns has ("email").
	Classification string `json:"classification,omitempty"`
	// Type is a column type, as Arrow prints it or as Unity names it ("Utf8" or "string").
	Type string `json:"type,omitempty"`
}

// CatalogList returns every catalog entry by name (q nil), or the entries matching q, best
// first.
func (l *Lake) CatalogList(q *CatalogQuery) ([]CatalogEntry, error) {
	var query *C.char
	if q != nil {
		text, err := json.Marshal(q)
		if err != nil {
			return nil, err
		}
		query = C.CString(string(text))
		defer C.free(unsafe.Pointer(query))
	}
	var entries []CatalogEntry
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&entries, func(out **C.char) C.strata_status {
			return C.strata_catalog_list(h, query, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}

func (l *Lake) catalogShow(name string, unity bool, v any) error {
	n, err := cString("name", name)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(n))
	return l.with(func(h *C.strata_lake) error {
		return jsonCall(v, func(out **C.char) C.strata_status {
			return C.strata_catalog_show(h, n, C.bool(unity), out)
		})
	})
}

// CatalogShow returns the catalog entry name ("zone/name"); one the catalog does not have is
// ErrNotFound.
func (l *Lake) CatalogShow(name string) (*CatalogEntry, error) {
	var entry CatalogEntry
	if err := l.catalogShow(name, false, &entry); err != nil {
		return nil, err
	}
	return &entry, nil
}

// CatalogShowUnity returns the catalog entry name as a Unity Catalog table entry (catalog
// "strata", schema = the zone).
func (l *Lake) CatalogShowUnity(name string) (map[string]any, error) {
	var entry map[string]any
	if err := l.catalogShow(name, true, &entry); err != nil {
		return nil, err
	}
	return entry, nil
}

// CatalogRegister registers a Parquet dataset (kind "dataset": path is a Parquet file or a
// directory of them) or a prefix of the lake's objects (kind "objects": path is the key
// prefix) as name ("zone/name"), with its facts read now. Registering again refreshes them.
func (l *Lake) CatalogRegister(name, path, kind string) (*CatalogEntry, error) {
	n, err := cString("name", name)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(n))
	p, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	k, err := cString("kind", kind)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(k))
	var entry CatalogEntry
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&entry, func(out **C.char) C.strata_status {
			return C.strata_catalog_register(h, n, p, k, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &entry, nil
}

func (l *Lake) catalogTag(name string, tags []string, remove bool) error {
	n, err := cString("name", name)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(n))
	if tags == nil {
		// "[]", which strata refuses as no tags, rather than "null".
		tags = []string{}
	}
	text, err := json.Marshal(tags)
	if err != nil {
		return err
	}
	t := C.CString(string(text))
	defer C.free(unsafe.Pointer(t))
	return l.with(func(h *C.strata_lake) error {
		return call(func() C.strata_status { return C.strata_catalog_tag(h, n, t, C.bool(remove)) })
	})
}

// CatalogTag adds tags (at least one) to the catalog entry name.
func (l *Lake) CatalogTag(name string, tags ...string) error {
	return l.catalogTag(name, tags, false)
}

// CatalogUntag removes tags (at least one) from the catalog entry name.
func (l *Lake) CatalogUntag(name string, tags ...string) error {
	return l.catalogTag(name, tags, true)
}

// CatalogDescribe sets the description of the catalog entry name (column ""), or of its
// column column, to text ("" clears it). A column the entry does not have is
// ErrInvalidArgument.
func (l *Lake) CatalogDescribe(name, column, text string) error {
	n, err := cString("name", name)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(n))
	var c *C.char
	if column != "" {
		if c, err = cString("column", column); err != nil {
			return err
		}
		defer C.free(unsafe.Pointer(c))
	}
	t, err := cString("text", text)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(t))
	return l.with(func(h *C.strata_lake) error {
		return call(func() C.strata_status { return C.strata_catalog_describe(h, n, c, t) })
	})
}

// Lineage walks the lineage graph from name (a table's "zone/name", a file path or an object
// key) in direction "upstream", "downstream" or "both", at most depth steps (< 0: all the
// way): {"start", "edges", "columns"} as strata_lineage documents. A name no recorded run read
// or wrote is ErrNotFound.
func (l *Lake) Lineage(name, direction string, depth int) (map[string]any, error) {
	n, err := cString("name", name)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(n))
	d, err := cString("direction", direction)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(d))
	steps := int32(-1)
	if depth >= 0 {
		steps = int32(min(depth, math.MaxInt32))
	}
	var walk map[string]any
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&walk, func(out **C.char) C.strata_status {
			return C.strata_lineage(h, n, d, C.int32_t(steps), out)
		})
	})
	if err != nil {
		return nil, err
	}
	return walk, nil
}

// WithJob returns a new Lake on the same open data root whose catalog changes and lineage runs
// (annotations, registrations, commits of its tables) are recorded as made by job. Close it
// too: the data root stays open until both are closed, in either order.
func (l *Lake) WithJob(job string) (*Lake, error) {
	j, err := cString("job", job)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(j))
	var out *C.strata_lake
	err = l.with(func(h *C.strata_lake) error {
		return call(func() C.strata_status { return C.strata_lake_with_job(h, j, &out) })
	})
	if err != nil {
		return nil, err
	}
	return wrap(out), nil
}

// Source is something a table's writes read: a file, a lake object, a table (at a version)
// or a registered dataset. See Table.Reading.
type Source struct {
	// Kind is "file", "object", "table" or "dataset".
	Kind string `json:"kind"`
	// Name is a file's path, an object's key, or a table's or dataset's "zone/name".
	Name string `json:"name"`
	// Version is a table's version (nil: none recorded); only tables have one.
	Version *int64 `json:"version,omitempty"`
}

// FileSource is the file at path, outside the lake.
func FileSource(path string) Source { return Source{Kind: "file", Name: path} }

// ObjectSource is the lake object under key.
func ObjectSource(key string) Source { return Source{Kind: "object", Name: key} }

// TableSource is the table name ("zone/name") at version (< 0: no version recorded).
func TableSource(name string, version int64) Source {
	s := Source{Kind: "table", Name: name}
	if version >= 0 {
		s.Version = &version
	}
	return s
}

// Reading returns a new handle on the table whose writes are recorded (catalog lineage and
// OpenLineage inputs) as reading sources; t is unchanged. Close the new handle too. An
// unknown kind, an empty name or a version on a source that is not a table is
// ErrInvalidArgument.
func (t *Table) Reading(sources ...Source) (*Table, error) {
	if sources == nil {
		sources = []Source{}
	}
	text, err := json.Marshal(sources)
	if err != nil {
		return nil, err
	}
	s := C.CString(string(text))
	defer C.free(unsafe.Pointer(s))
	var h *C.strata_table
	err = t.with(func(th *C.strata_table) error {
		return call(func() C.strata_status { return C.strata_table_reading(th, s, &h) })
	})
	if err != nil {
		return nil, err
	}
	reader := &Table{h: h}
	runtime.SetFinalizer(reader, (*Table).Close)
	return reader, nil
}

// SetLineageCallback makes f the receiver of the OpenLineage RunEvents (one JSON document per
// call: START, then COMPLETE or FAIL) of every table write through this lake, replacing any
// receiver; nil clears it. The receiver is the open lake's: Lakes from WithJob and tables
// opened through any of them share it, and it stays until replaced or cleared, or until the
// lake and all its tables are closed.
//
// f runs on the writing goroutine's thread before the write returns, possibly on several at
// once, so it must be safe for concurrent use and cheap; it must not call methods of this
// lake or its tables. A panic in f is recovered: that event is lost, the write goes on.
func (l *Lake) SetLineageCallback(f func(eventJSON string)) error {
	if f == nil {
		return l.with(func(h *C.strata_lake) error {
			return call(func() C.strata_status {
				return C.strata_lake_set_lineage_callback(h, nil, nil, nil)
			})
		})
	}
	// C memory holding the handle: C may keep it, which it may not do with Go memory. strata
	// hands it to strataGoLineageFree once it no longer needs it, also when this call fails.
	data := C.malloc(C.size_t(unsafe.Sizeof(C.uintptr_t(0))))
	if data == nil {
		panic("strata: out of memory")
	}
	*(*C.uintptr_t)(data) = C.uintptr_t(cgo.NewHandle(f))
	passed := false
	err := l.with(func(h *C.strata_lake) error {
		passed = true
		return call(func() C.strata_status {
			return C.strata_lake_set_lineage_callback(h, C.strata_lineage_fn(C.strataGoLineageEvent), data,
				C.strata_free_fn(C.strataGoLineageFree))
		})
	})
	if !passed {
		// A closed lake: strata never saw data.
		strataGoLineageFree(data)
	}
	return err
}

// lineageReceiver is the function behind a SetLineageCallback user_data.
func lineageReceiver(userData unsafe.Pointer) cgo.Handle {
	return cgo.Handle(*(*C.uintptr_t)(userData))
}

//export strataGoLineageEvent
func strataGoLineageEvent(eventJSON *C.char, userData unsafe.Pointer) {
	// A Go panic must not unwind through strata's frames.
	defer func() { _ = recover() }()
	f := lineageReceiver(userData).Value().(func(string))
	f(C.GoString(eventJSON))
}

//export strataGoLineageFree
func strataGoLineageFree(userData unsafe.Pointer) {
	lineageReceiver(userData).Delete()
	C.free(userData)
}
