package strata

/*
#include <stdlib.h>
#include "strata.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"io"
	"unsafe"
)

// ChangeReport is what a Delete, Update or Merge did. Version is nil when no row matched
// and nothing was committed.
type ChangeReport struct {
	Version      *uint64 `json:"version"`
	RowsDeleted  uint64  `json:"rows_deleted"`
	RowsUpdated  uint64  `json:"rows_updated"`
	RowsInserted uint64  `json:"rows_inserted"`
	RowsCopied   uint64  `json:"rows_copied"`
	FilesScanned uint64  `json:"files_scanned"`
	FilesSkipped uint64  `json:"files_skipped"`
	FilesRemoved uint64  `json:"files_removed"`
	FilesAdded   uint64  `json:"files_added"`
	BytesAdded   uint64  `json:"bytes_added"`
}

// MergeOptions say how Merge matches rows and what it does (an upsert by default).
type MergeOptions struct {
	// On names the key columns (required).
	On []string `json:"on"`
	// WhenMatched is "update" (default), "delete" or "ignore".
	WhenMatched string `json:"when_matched,omitempty"`
	// UpdateColumns limits an update to these columns (default: all the source has).
	UpdateColumns []string `json:"update_columns,omitempty"`
	// WhenNotMatched is "insert" (default) or "ignore".
	WhenNotMatched string `json:"when_not_matched,omitempty"`
	// DeleteNotMatchedBySource deletes target rows whose key the source lacks.
	DeleteNotMatchedBySource bool `json:"delete_not_matched_by_source,omitempty"`
}

// Delete removes the rows matching predicate (strata's filter syntax) as one new version.
func (t *Table) Delete(predicate string) (*ChangeReport, error) {
	p, err := cString("predicate", predicate)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	var report ChangeReport
	err = t.with(func(h *C.strata_table) error {
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return C.strata_table_delete(h, p, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &report, nil
}

// Update sets columns ("col = value, ..."; a literal, NULL or another column) of the rows
// matching predicate ("" for every row) as one new version.
func (t *Table) Update(predicate, set string) (*ChangeReport, error) {
	var p *C.char
	if predicate != "" {
		var err error
		if p, err = cString("predicate", predicate); err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(p))
	}
	s, err := cString("set", set)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(s))
	var report ChangeReport
	err = t.with(func(h *C.strata_table) error {
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return C.strata_table_update(h, p, s, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &report, nil
}

// Merge merges the rows of the Arrow IPC stream ipc (one row per key) into the table as one
// new version, as options say.
func (t *Table) Merge(ipc io.Reader, options MergeOptions) (*ChangeReport, error) {
	text, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	opts := C.CString(string(text))
	defer C.free(unsafe.Pointer(opts))
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(ipc); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	var report ChangeReport
	err = t.with(func(h *C.strata_table) error {
		var ptr *C.uint8_t
		if len(data) > 0 {
			ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
		}
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return C.strata_table_merge_ipc(h, ptr, C.size_t(len(data)), opts, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &report, nil
}

// OptimizeOptions say what Optimize does: compaction of every partition by default.
type OptimizeOptions struct {
	// ZorderBy z-orders each partition's rows by these columns (up to 4).
	ZorderBy []string `json:"zorder_by,omitempty"`
	// Where limits the optimize to partitions matching this filter on partition columns.
	Where string `json:"where,omitempty"`
	// TargetFileBytes is the size of the files written (default: the table's).
	TargetFileBytes uint64 `json:"target_file_bytes,omitempty"`
}

// OptimizeReport is what an Optimize did; Version is nil when there was nothing to do.
type OptimizeReport struct {
	Version     *uint64          `json:"version"`
	Partitions  uint64           `json:"partitions"`
	FilesBefore uint64           `json:"files_before"`
	BytesBefore uint64           `json:"bytes_before"`
	FilesAfter  uint64           `json:"files_after"`
	BytesAfter  uint64           `json:"bytes_after"`
	Attempts    uint32           `json:"attempts"`
	Zorder      []map[string]any `json:"zorder"`
}

// Optimize compacts small files (or z-orders them) as one commit that changes no row.
func (t *Table) Optimize(options OptimizeOptions) (*OptimizeReport, error) {
	text, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	opts := C.CString(string(text))
	defer C.free(unsafe.Pointer(opts))
	var report OptimizeReport
	err = t.with(func(h *C.strata_table) error {
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return C.strata_table_optimize(h, opts, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &report, nil
}
