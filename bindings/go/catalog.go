package strata

/*
#include <stdlib.h>
#include "strata.h"
*/
import "C"

import (
	"encoding/json"
	"math"
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
