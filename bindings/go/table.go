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
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Table is a Delta Lake table of a lake (see strata_table_open). It is safe for use by many
// goroutines at once; it stays usable after its Lake is closed.
type Table struct {
	mu sync.RWMutex
	h  *C.strata_table
}

// TableOptions apply when the first Append creates the table.
type TableOptions struct {
	// PartitionBy names partition columns (strings, integers, dates or booleans).
	PartitionBy []string `json:"partition_by,omitempty"`
	// Description is kept in the table's metadata.
	Description string `json:"description,omitempty"`
	// Owner is the table's strata.owner property.
	Owner string `json:"owner,omitempty"`
	// Codec is the table's codec policy ("auto", "fast", "balanced", "compact", "zstd:3", ...).
	Codec string `json:"codec,omitempty"`
	// TargetFileBytes is the size data files roll over at (default 128 MiB).
	TargetFileBytes uint64 `json:"target_file_bytes,omitempty"`
	// EncryptionKey encrypts every data file under this key id of the lake's key ring.
	EncryptionKey string `json:"encryption_key,omitempty"`
}

// Commit is what an Append committed.
type Commit struct {
	Version      uint64 `json:"version"`
	FilesAdded   uint64 `json:"files_added"`
	FilesRemoved uint64 `json:"files_removed"`
	Rows         uint64 `json:"rows"`
	Bytes        uint64 `json:"bytes"`
}

// HistoryEntry is one commit of a table.
type HistoryEntry struct {
	Version      uint64         `json:"version"`
	TimestampMs  *int64         `json:"timestamp_ms"`
	Operation    *string        `json:"operation"`
	Parameters   map[string]any `json:"parameters"`
	FilesAdded   uint64         `json:"files_added"`
	FilesRemoved uint64         `json:"files_removed"`
	RowsAdded    *uint64        `json:"rows_added"`
	BytesAdded   uint64         `json:"bytes_added"`
	Engine       *string        `json:"engine"`
	AppID        *string        `json:"app_id"`
	Metrics      map[string]any `json:"metrics"`
}

// Table opens the table name ("zone/name", e.g. "silver/trips") of the lake; it need not
// exist until the first Append. Close it when done.
func (l *Lake) Table(name string) (*Table, error) {
	n, err := cString("name", name)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(n))
	var h *C.strata_table
	err = l.with(func(lh *C.strata_lake) error {
		return call(func() C.strata_status { return C.strata_table_open(lh, n, &h) })
	})
	if err != nil {
		return nil, err
	}
	t := &Table{h: h}
	runtime.SetFinalizer(t, (*Table).Close)
	return t, nil
}

// Close frees the handle. Later calls return ErrClosed; closing twice is harmless.
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h != nil {
		C.strata_table_free(t.h)
		t.h = nil
		runtime.SetFinalizer(t, nil)
	}
	return nil
}

func (t *Table) with(f func(h *C.strata_table) error) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.h == nil {
		return ErrClosed
	}
	return f(t.h)
}

// Append commits the rows of the Arrow IPC stream ipc as a new version; the first Append
// creates the table with their schema and options (nil for none). Concurrent appends all
// commit. Columns that differ from the table's are ErrInvalidArgument.
func (t *Table) Append(ipc io.Reader, options *TableOptions) (*Commit, error) {
	var opts *C.char
	if options != nil {
		text, err := json.Marshal(options)
		if err != nil {
			return nil, err
		}
		opts = C.CString(string(text))
		defer C.free(unsafe.Pointer(opts))
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(ipc); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	var commit Commit
	err := t.with(func(h *C.strata_table) error {
		var ptr *C.uint8_t
		if len(data) > 0 {
			ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
		}
		return jsonCall(&commit, func(out **C.char) C.strata_status {
			return C.strata_table_append_ipc(h, ptr, C.size_t(len(data)), opts, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &commit, nil
}

// ScanVersion reads version (>= 0) of the table, or the latest when version < 0, as Arrow IPC
// stream bytes; columns and filter as for Lake.Scan.
func (t *Table) ScanVersion(version int64, columns []string, filter string) ([]byte, error) {
	return t.scan(version, -1, columns, filter)
}

// ScanAsOf reads the version current at when.
func (t *Table) ScanAsOf(when time.Time, columns []string, filter string) ([]byte, error) {
	return t.scan(-1, when.UnixMilli(), columns, filter)
}

func (t *Table) scan(version, timestampMs int64, columns []string, filter string) ([]byte, error) {
	var out []byte
	err := t.with(func(h *C.strata_table) error {
		var err error
		out, err = scanIPC(columns, filter, func(names **C.char, n C.size_t, f *C.char, b **C.strata_bytes, data **C.uint8_t, size *C.size_t) C.strata_status {
			return C.strata_table_scan_ipc(h, C.int64_t(version), C.int64_t(timestampMs), names, n, f, b, data, size)
		})
		return err
	})
	return out, err
}

// History returns the table's commits, newest first.
func (t *Table) History() ([]HistoryEntry, error) {
	var entries []HistoryEntry
	err := t.with(func(h *C.strata_table) error {
		return jsonCall(&entries, func(out **C.char) C.strata_status {
			return C.strata_table_history(h, out)
		})
	})
	return entries, err
}
