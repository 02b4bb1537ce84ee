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

// Scan reads the lake object key wherever it lives (a hot, cold or S3 tier, through the lake's
// cache; an encrypted object, or Parquet with modular encryption, with the lake's keys) and
// returns the rows as Arrow IPC stream bytes, as the package-level Scan does for files. A key
// that is no object but a prefix of Parquet objects ("sales" for the "sales/region=eu/..." that
// Write makes; "sales/" names only the prefix) is scanned as one dataset, with Hive partition
// columns from the keys. columns nil or empty means all columns; filter "" means all rows. A
// missing key is ErrNotFound; a bad column or filter has the kind Scan gives it.
func (l *Lake) Scan(key string, columns []string, filter string) ([]byte, error) {
	k, err := cString("key", key)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(k))
	var out []byte
	err = l.with(func(h *C.strata_lake) error {
		var err error
		out, err = scanIPC(columns, filter, func(names **C.char, n C.size_t, f *C.char, b **C.strata_bytes, data **C.uint8_t, size *C.size_t) C.strata_status {
			return C.strata_lake_scan_ipc(h, k, names, n, f, b, data, size)
		})
		return err
	})
	return out, err
}

// WriteOptions are the options of Write, the flags of `strata write` (see strata_lake_write in
// strata.h for each one's values and range). A zero value keeps the default.
type WriteOptions struct {
	// Codec is the codec policy: "auto", "fast", "balanced", "compact", "zstd", "zstd:LEVEL",
	// "lz4", "snappy", "gzip", "gzip:LEVEL" or "none". Default: the policy of the tier the
	// lake's placement rules send the dataset to.
	Codec string `json:"codec,omitempty"`
	// PartitionBy names Hive partition columns ("region", "ts:day").
	PartitionBy []string `json:"partition_by,omitempty"`
	// TargetFileSize: files roll over past this many bytes (1KiB to 1TiB; default 128MiB).
	TargetFileSize uint64 `json:"target_file_size,omitempty"`
	// RowGroupRows: rows per row group (1 to 2^30; default 2^20).
	RowGroupRows uint64 `json:"row_group_rows,omitempty"`
	// PageSize: bytes per data page before compression (1KiB to 1GiB; default 1MiB).
	PageSize uint64 `json:"page_size,omitempty"`
	// Format: "auto", "parquet" or "ipc".
	Format string `json:"format,omitempty"`
	// PageVersion: "v1" or "v2".
	PageVersion string `json:"page_version,omitempty"`
	// Dictionary: "auto", "on" or "off".
	Dictionary string `json:"dictionary,omitempty"`
	// BloomFilter names columns that get a bloom filter.
	BloomFilter []string `json:"bloom_filter,omitempty"`
	// SortBy names columns to sort the rows by before writing.
	SortBy []string `json:"sort_by,omitempty"`
	// Access: "scan" or "zero-copy".
	Access string `json:"access,omitempty"`
	// Tier is the tier the data is meant for: its codec policy and decode-speed floor apply
	// (placement rules still decide where it goes).
	Tier string `json:"tier,omitempty"`
}

// WrittenFile is one object a Write made.
type WrittenFile struct {
	// Path is the object's key.
	Path  string `json:"path"`
	Rows  uint64 `json:"rows"`
	Bytes uint64 `json:"bytes"`
}

// ColumnChoice is the codec and encoding chosen for one column, and why.
type ColumnChoice struct {
	Column     string `json:"column"`
	Codec      string `json:"codec"`
	Encoding   string `json:"encoding"`
	Dictionary bool   `json:"dictionary"`
	Reason     string `json:"reason"`
}

// WriteSummary is what a Write did.
type WriteSummary struct {
	Format       string         `json:"format"`
	FormatReason string         `json:"format_reason"`
	CodecPolicy  string         `json:"codec_policy"`
	Files        []WrittenFile  `json:"files"`
	Partitions   int            `json:"partitions"`
	Rows         uint64         `json:"rows"`
	BytesIn      uint64         `json:"bytes_in"`
	BytesOut     uint64         `json:"bytes_out"`
	Ratio        float64        `json:"ratio"`
	Columns      []ColumnChoice `json:"columns"`
}

// Write stores the rows of the Arrow IPC stream ipc (what Scan returns, or any Arrow library
// writes) as the dataset prefix of the lake, through strata's format writer: files under
// prefix/ (Hive directories when partitioned), each put atomically as an object, with the
// codec and encoding chosen per column and the page index. options nil means the defaults.
// ipc is read to the end into memory first. Lake.Scan(prefix, ...) reads the dataset back.
func (l *Lake) Write(prefix string, ipc io.Reader, options *WriteOptions) (*WriteSummary, error) {
	p, err := cString("prefix", prefix)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
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
	var summary WriteSummary
	err = l.with(func(h *C.strata_lake) error {
		var ptr *C.uint8_t
		if len(data) > 0 {
			// cgo allows passing Go memory without Go pointers inside for the call's duration.
			ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
		}
		return jsonCall(&summary, func(out **C.char) C.strata_status {
			return C.strata_lake_write_ipc(h, p, ptr, C.size_t(len(data)), opts, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &summary, nil
}
