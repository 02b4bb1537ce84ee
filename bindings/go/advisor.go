package strata

/*
#include <stdlib.h>
#include "strata.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// Recommendation is one piece of the advisor's advice, with the numbers it rests on.
type Recommendation struct {
	// Kind is "partition", "zorder", "compact", "codec", "format", "tier" or "cache".
	Kind   string `json:"kind"`
	Target string `json:"target"`
	// Advice says what to do, in a sentence.
	Advice   string         `json:"advice"`
	Evidence map[string]any `json:"evidence"`
	Effect   map[string]any `json:"effect"`
	// Apply is how ApplyAdvice carries it out; nil for advice only.
	Apply json.RawMessage `json:"apply"`
}

// Applied is what ApplyAdvice did (or, in a dry run, would do) for one recommendation.
type Applied struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
	Action string `json:"action"`
	// Outcome is "planned" (dry run), "done", "skipped: why" or "failed: error".
	Outcome     string  `json:"outcome"`
	Version     *uint64 `json:"version"`
	FilesBefore uint64  `json:"files_before"`
	FilesAfter  uint64  `json:"files_after"`
	BytesBefore uint64  `json:"bytes_before"`
	BytesAfter  uint64  `json:"bytes_after"`
}

// SyncOptions say what Sync does; the zero value syncs every object with 8 copies at once.
type SyncOptions struct {
	Prefix string `json:"prefix,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Delete also deletes from the destination what the source no longer holds.
	Delete bool `json:"delete,omitempty"`
	// Verify reads back every copy the destination holds and recopies damaged ones.
	Verify      bool   `json:"verify,omitempty"`
	Concurrency int    `json:"concurrency,omitempty"`
	Limit       uint64 `json:"limit,omitempty"`
	// ToConfig is another lake's configuration file, whose tier dest receives the copies.
	ToConfig string `json:"to_config,omitempty"`
}

// SyncReport is what a Sync did.
type SyncReport struct {
	Source        string `json:"source"`
	Dest          string `json:"dest"`
	DryRun        bool   `json:"dry_run"`
	SourceObjects uint64 `json:"source_objects"`
	Copied        uint64 `json:"copied"`
	BytesCopied   uint64 `json:"bytes_copied"`
	Skipped       uint64 `json:"skipped"`
	Deleted       uint64 `json:"deleted"`
	Failed        uint64 `json:"failed"`
	Remaining     uint64 `json:"remaining"`
	Resumed       uint64 `json:"resumed"`
	Damaged       uint64 `json:"damaged"`
}

func optCString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

// Advise gives the advisor's recommendations for the table, dataset or object prefix name
// ("" for everything the lake has statistics on), computed from the recorded access
// statistics and the files' own metadata.
func (l *Lake) Advise(name string) ([]Recommendation, error) {
	n := optCString(name)
	defer C.free(unsafe.Pointer(n))
	var recs []Recommendation
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&recs, func(out **C.char) C.strata_status {
			return C.strata_lake_advise(h, n, out)
		})
	})
	return recs, err
}

// ApplyAdvice computes the advice for name (as Advise) and applies the safe recommendations
// (z-order, compaction and re-encoding as table commits that change no row, tier moves), of
// kind only when it is not "". With dryRun nothing changes.
func (l *Lake) ApplyAdvice(name, only string, dryRun bool) ([]Applied, error) {
	n := optCString(name)
	defer C.free(unsafe.Pointer(n))
	o := optCString(only)
	defer C.free(unsafe.Pointer(o))
	var applied []Applied
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&applied, func(out **C.char) C.strata_status {
			return C.strata_lake_apply_advice(h, n, o, C.bool(dryRun), out)
		})
	})
	return applied, err
}

// Cost gives the lake's monthly cost report (per tier, zone and table, and the total), as
// `strata cost --json` prints it.
func (l *Lake) Cost() (map[string]any, error) {
	var report map[string]any
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return C.strata_lake_cost(h, out)
		})
	})
	return report, err
}

// Sync copies what tier source holds and tier dest lacks or holds changed: incremental from
// the tier index, verified, resumable, encrypted objects kept as ciphertext. Failed copies are
// an ErrIO error returned with the report (its Failed count); syncing again retries them.
func (l *Lake) Sync(source, dest string, options SyncOptions) (*SyncReport, error) {
	text, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	opts := C.CString(string(text))
	defer C.free(unsafe.Pointer(opts))
	s, err := cString("source", source)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(s))
	d, err := cString("dest", dest)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(d))
	var report SyncReport
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return C.strata_lake_sync(h, s, d, opts, out)
		})
	})
	if err != nil && report.Source == "" {
		return nil, err
	}
	return &report, err
}
