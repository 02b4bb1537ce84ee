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

// ExpectationCount is one rule's count in an AppendExpecting.
type ExpectationCount struct {
	Rule   string `json:"rule"`
	Expect string `json:"expect"` // "warn", "drop" or "fail"
	Failed uint64 `json:"failed"`
}

// ExpectReport is what an AppendExpecting did.
type ExpectReport struct {
	// Version is the table version the append made; nil when no row was kept.
	Version     *uint64 `json:"version"`
	Rows        uint64  `json:"rows"`
	Kept        uint64  `json:"kept"`
	Quarantined uint64  `json:"quarantined"`
	// Quarantine is [name, version] of the quarantine table's append, or nil.
	Quarantine   []any              `json:"quarantine"`
	Expectations []ExpectationCount `json:"expectations"`
}

// AppendExpecting appends the Arrow IPC stream ipc to the existing table name with rules (a
// quality rules file's text, TOML or JSON) as expectations: each rule's `expect` ("warn", the
// default, "drop" or "fail") says what happens to the rows failing it. Dropped rows go to
// name + "__quarantine" with an _errors column; a failing "fail" rule commits nothing and
// is ErrInvalidArgument naming it; rules that do not parse are ErrConfig. A streaming
// service calls it batch by batch and reads, per call, how many rows were kept and
// quarantined.
func (l *Lake) AppendExpecting(name string, ipc io.Reader, rules string) (*ExpectReport, error) {
	return l.expecting(name, ipc, rules, func(h *C.strata_lake, n *C.char, data *C.uint8_t, len C.size_t, r *C.char, out **C.char) C.strata_status {
		return C.strata_lake_append_expecting_ipc(h, n, data, len, r, out)
	})
}

// MergeExpecting merges the Arrow IPC stream ipc (one row per key) into the existing table
// name as options say (as Table.Merge), with rules as expectations on the source rows, as
// AppendExpecting has them: rows failing a "drop" rule go to name + "__quarantine" and are
// not merged; a failing "fail" rule merges nothing (ErrInvalidArgument naming it). The
// report's Version is the merge's (nil when the merge changed nothing).
func (l *Lake) MergeExpecting(name string, ipc io.Reader, options MergeOptions, rules string) (*ExpectReport, error) {
	text, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	opts := C.CString(string(text))
	defer C.free(unsafe.Pointer(opts))
	return l.expecting(name, ipc, rules, func(h *C.strata_lake, n *C.char, data *C.uint8_t, len C.size_t, r *C.char, out **C.char) C.strata_status {
		return C.strata_lake_merge_expecting_ipc(h, n, data, len, opts, r, out)
	})
}

// expecting passes name, the bytes of ipc and rules to call, one of the C calls with
// expectations, and decodes its report.
func (l *Lake) expecting(name string, ipc io.Reader, rules string, call func(h *C.strata_lake, n *C.char, data *C.uint8_t, len C.size_t, r *C.char, out **C.char) C.strata_status) (*ExpectReport, error) {
	n, err := cString("name", name)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(n))
	r, err := cString("rules", rules)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(r))
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(ipc); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	var report ExpectReport
	err = l.with(func(h *C.strata_lake) error {
		var ptr *C.uint8_t
		if len(data) > 0 {
			ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
		}
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return call(h, n, ptr, C.size_t(len(data)), r, out)
		})
	})
	if err != nil {
		return nil, err
	}
	return &report, nil
}
