package strata

/*
#include <stdlib.h>
#include "strata.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// Scan reads the Parquet file or dataset directory at path and returns the rows as Arrow IPC
// stream bytes (readable by any Arrow library). columns nil or empty means all columns;
// filter "" means all rows, e.g. "dep_delay > 60 AND origin IN ('JFK','LGA')".
func Scan(path string, columns []string, filter string) ([]byte, error) {
	p, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	return scanIPC(columns, filter, func(names **C.char, n C.size_t, f *C.char, out **C.strata_bytes, data **C.uint8_t, size *C.size_t) C.strata_status {
		return C.strata_scan_ipc(p, names, n, f, out, data, size)
	})
}

// ScanCount counts the rows of the Parquet file or dataset directory at path that pass filter
// ("" counts every row, from the footers alone) without building them, as
// SELECT count(*) ... WHERE would. threads 0 means strata's default (one per core).
func ScanCount(path string, filter string, threads int) (uint64, error) {
	if threads < 0 {
		return 0, &Error{Kind: KindInvalidArgument, Message: "threads must not be negative"}
	}
	p, err := cString("path", path)
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(p))
	f, err := cString("filter", filter)
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(f))
	var options *C.char
	if threads > 0 {
		options = C.CString(fmt.Sprintf(`{"threads": %d}`, threads))
		defer C.free(unsafe.Pointer(options))
	}
	var rows C.uint64_t
	err = call(func() C.strata_status {
		return C.strata_scan_count(p, f, options, &rows)
	})
	return uint64(rows), err
}

// scanIPCFunc is a strata function returning a scan as Arrow IPC bytes, its input bound.
type scanIPCFunc func(names **C.char, n C.size_t, filter *C.char, out **C.strata_bytes, data **C.uint8_t, size *C.size_t) C.strata_status

// scanIPC runs scan with columns and filter in C memory and copies the bytes it returns.
func scanIPC(columns []string, filter string, scan scanIPCFunc) ([]byte, error) {
	f, err := cString("filter", filter)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(f))
	for _, c := range columns {
		if _, err := cString("column name", c); err != nil {
			return nil, err
		}
	}
	// The column names live in C memory: cgo forbids passing Go memory that holds Go pointers.
	var names **C.char
	if len(columns) > 0 {
		names = (**C.char)(C.malloc(C.size_t(len(columns)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(names))
		list := unsafe.Slice(names, len(columns))
		for i, c := range columns {
			list[i] = C.CString(c)
			defer C.free(unsafe.Pointer(list[i]))
		}
	}
	var b *C.strata_bytes
	var data *C.uint8_t
	var n C.size_t
	err = call(func() C.strata_status {
		return scan(names, C.size_t(len(columns)), f, &b, &data, &n)
	})
	if err != nil {
		return nil, err
	}
	defer C.strata_bytes_free(b)
	return C.GoBytes(unsafe.Pointer(data), C.int(n)), nil
}

// ColumnProfile is the profile of one column. Min, Max and Sum keep the JSON scalar form
// ({"int": 3}, {"float": 1.5}, {"text": "a"}, ...).
type ColumnProfile struct {
	Name         string          `json:"name"`
	DataType     string          `json:"data_type"`
	Kind         string          `json:"kind"`
	Rows         uint64          `json:"rows"`
	Nulls        uint64          `json:"nulls"`
	NaNs         uint64          `json:"nans"`
	Min          json.RawMessage `json:"min"`
	Max          json.RawMessage `json:"max"`
	Sum          json.RawMessage `json:"sum"`
	Mean         *float64        `json:"mean"`
	Stddev       *float64        `json:"stddev"`
	Distinct     json.RawMessage `json:"distinct"`
	MinLength    *uint64         `json:"min_length"`
	MaxLength    *uint64         `json:"max_length"`
	Top          json.RawMessage `json:"top"`
	Quantiles    json.RawMessage `json:"quantiles"`
	InferredType *string         `json:"inferred_type"`
}

// Profile is a table profile: rows and one profile per column.
type Profile struct {
	Rows    uint64          `json:"rows"`
	Columns []ColumnProfile `json:"columns"`
}

// ProfileFile profiles every column of the Parquet file or dataset directory at path.
func ProfileFile(path string) (*Profile, error) {
	p, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	var out Profile
	if err := jsonCall(&out, func(json **C.char) C.strata_status { return C.strata_profile_file(p, json) }); err != nil {
		return nil, err
	}
	return &out, nil
}

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Rule         string  `json:"rule"`
	Check        string  `json:"check"`
	Severity     string  `json:"severity"`
	Passed       bool    `json:"passed"`
	Observed     float64 `json:"observed"`
	CheckedRows  uint64  `json:"checked_rows"`
	AffectedRows uint64  `json:"affected_rows"`
	Message      string  `json:"message"`
}

// QualityReport is the outcome of checking a dataset against rules.
type QualityReport struct {
	Rows    uint64  `json:"rows"`
	Passed  bool    `json:"passed"`
	Score   float64 `json:"score"`
	Dataset struct {
		Completeness float64 `json:"completeness"`
		Uniqueness   float64 `json:"uniqueness"`
		Score        float64 `json:"score"`
	} `json:"dataset"`
	Results []RuleResult `json:"results"`
}

// CheckFile checks the Parquet file or dataset directory at path against rules (a rules
// file's text, TOML or JSON). Failed rules are in the report, not an error.
func CheckFile(path, rules string) (*QualityReport, error) {
	p, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	r, err := cString("rules", rules)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(r))
	var out QualityReport
	if err := jsonCall(&out, func(json **C.char) C.strata_status { return C.strata_check_file(p, r, json) }); err != nil {
		return nil, err
	}
	return &out, nil
}

// Version is the strata library version.
func Version() string {
	var v *C.char
	if call(func() C.strata_status { return C.strata_version(&v) }) != nil {
		return ""
	}
	return C.GoString(v)
}
