package strata

/*
#include <stdlib.h>
#include "strata.h"
*/
import "C"

import (
	"encoding/json"
	"time"
	"unsafe"
)

// AuditReport is what a check of the whole audit log found.
type AuditReport struct {
	// Records and Segments count what was checked.
	Records  uint64 `json:"records"`
	Segments uint64 `json:"segments"`
	// Problems lists every problem found, with where it is: edited, removed, reordered or
	// inserted records, missing segments, digests that do not verify or come from another lake.
	Problems []string `json:"problems"`
	// Intact is whether there is no problem.
	Intact bool `json:"intact"`
}

// AuditQuery selects audit records; every field given must match.
type AuditQuery struct {
	// Since keeps records written at or after it (the zero time: from the first).
	Since time.Time
	// Principal keeps only this principal's records ("host" for handles without one).
	Principal string
	// Resource keeps records whose resource contains it ("object:KEY", "table:ZONE/NAME",
	// "lake").
	Resource string
	// Action keeps only this action's records ("get", "put", "scan", "table.append", ...).
	Action string
	// Limit keeps only the newest Limit records (0: all).
	Limit int
}

// AuditRecord is one record of the audit log.
type AuditRecord struct {
	// Seq is the record's number, from 1.
	Seq uint64 `json:"seq"`
	// At is when it was written, ms since the epoch.
	At int64 `json:"at"`
	// Process is the process that wrote it.
	Process   string `json:"process"`
	Principal string `json:"principal"`
	// Action is what was done: "get", "put", "scan", "table.append", "erase", ...
	Action string `json:"action"`
	// Resource is what it was done to: "object:KEY", "table:ZONE/NAME", "lake", ...
	Resource string `json:"resource"`
	// Columns, Rows, Bytes and Version are set when they matter and are known.
	Columns []string `json:"columns,omitempty"`
	Rows    *uint64  `json:"rows,omitempty"`
	Bytes   *uint64  `json:"bytes,omitempty"`
	Version *uint64  `json:"version,omitempty"`
	// Detail says more: a denial's reason, a scan's filter, an erasure's tables.
	Detail string `json:"detail,omitempty"`
	// Outcome is "ok", "denied", or the name of the error's kind ("not_found", ...).
	Outcome string `json:"outcome"`
	// Prev is the hash of the record before; Hash is this record's.
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// EraseRequest asks for a data subject's erasure (the right to erasure).
type EraseRequest struct {
	// Column is the identifier's column or classification ("email"): tables whose catalog
	// entry marks a column with that classification are searched, whatever it is called there.
	Column string `json:"column"`
	// Value is the subject's value ("alice@example.com").
	Value string `json:"value"`
	// Tables limits the erasure to these tables ("zone/name"); empty: every table the catalog
	// marks.
	Tables []string `json:"tables,omitempty"`
	// AllClassified searches every classified table (the default when Tables is empty).
	AllClassified bool `json:"all_classified,omitempty"`
	// Purge vacuums at once with no retention: the files that held the rows go now, and time
	// travel to older versions stops working.
	Purge bool `json:"purge,omitempty"`
	// DryRun reports what would be erased and changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// ErasedTable is one table an erasure touched (or, dry, would).
type ErasedTable struct {
	// Table is "zone/name"; Column the column the value was matched in.
	Table  string `json:"table"`
	Column string `json:"column"`
	// Rows is the subject's rows: found in a dry run, deleted otherwise.
	Rows uint64 `json:"rows"`
	// Version is the version the delete committed (nil in a dry run or when no row matched).
	Version       *uint64 `json:"version"`
	FilesVacuumed uint64  `json:"files_vacuumed"`
	// FilesPendingVacuum is whether files holding the rows are kept for time travel until the
	// retention window passes (Purge deletes them at once).
	FilesPendingVacuum bool `json:"files_pending_vacuum"`
}

// EraseReport is what an erasure did (or, dry, would do).
type EraseReport struct {
	Column string `json:"column"`
	// Classification is the classification searched, "" when the column names none.
	Classification string        `json:"classification"`
	Tables         []ErasedTable `json:"tables"`
	// Objects are the keys removed (or that would be) under the config's [erasure] prefixes.
	Objects []string `json:"objects"`
	Purged  bool     `json:"purged"`
	DryRun  bool     `json:"dry_run"`
	// AuditRecord is the number of the erasure's audit record, when one was written.
	AuditRecord *uint64 `json:"audit_record"`
}

// ComplianceControl is one control of a compliance report, computed from the live lake.
type ComplianceControl struct {
	// ID is stable ("gdpr.pii_encrypted"); Title says what it checks.
	ID    string `json:"id"`
	Title string `json:"title"`
	// Status is "PASS", "FAIL" or "WARN".
	Status string `json:"status"`
	// Evidence is what was found: tables, columns, roles, keys, counts.
	Evidence []string `json:"evidence"`
}

// ComplianceReport assesses the lake against a regulation.
type ComplianceReport struct {
	// Framework is "gdpr" or "hipaa".
	Framework string `json:"framework"`
	// At is when it was computed, ms since the epoch.
	At       int64               `json:"at"`
	Controls []ComplianceControl `json:"controls"`
	// Score is 0 to 100: passes count 1, warnings half.
	Score float64 `json:"score"`
}

// As returns a new Lake on the same open data root acting as principal: with an [access]
// section in the config, every call through it is checked against the principal's grants,
// and one they do not allow fails with ErrPermissionDenied naming the principal; with [audit]
// enabled, its calls are recorded under the principal's name. A principal the [access] policy
// does not name is ErrPermissionDenied. Close it too: the data root stays open until both are
// closed, in either order.
func (l *Lake) As(principal string) (*Lake, error) {
	p, err := cString("principal", principal)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	var out *C.strata_lake
	err = l.with(func(h *C.strata_lake) error {
		return call(func() C.strata_status { return C.strata_lake_with_principal(h, p, &out) })
	})
	if err != nil {
		return nil, err
	}
	return wrap(out), nil
}

// Principal returns who the lake acts as: the principal given to As, else the config's
// [access] default_principal, else "host" (the process itself, unrestricted).
func (l *Lake) Principal() (string, error) {
	var principal string
	err := l.with(func(h *C.strata_lake) error {
		var out *C.char
		if err := call(func() C.strata_status { return C.strata_lake_principal(h, &out) }); err != nil {
			return err
		}
		defer C.strata_string_free(out)
		principal = C.GoString(out)
		return nil
	})
	return principal, err
}

// AuditVerify checks the whole audit log: every record's hash chain, every sealed segment
// against its signed digest, no segment missing, none from another lake. A damaged log is a
// report with problems, not an error. Auditing off is ErrConfig; a principal without admin on
// the lake gets ErrPermissionDenied.
func (l *Lake) AuditVerify() (AuditReport, error) {
	var report AuditReport
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&report, func(out **C.char) C.strata_status { return C.strata_audit_verify(h, out) })
	})
	return report, err
}

// auditQuery is AuditQuery as strata_audit_show reads it.
type auditQuery struct {
	SinceMs   *int64 `json:"since_ms,omitempty"`
	Principal string `json:"principal,omitempty"`
	Resource  string `json:"resource,omitempty"`
	Action    string `json:"action,omitempty"`
	Limit     *int   `json:"limit,omitempty"`
}

// AuditShow returns the audit records q selects, oldest first. Auditing off is ErrConfig; a
// principal without admin on the lake gets ErrPermissionDenied.
func (l *Lake) AuditShow(q AuditQuery) ([]AuditRecord, error) {
	query := auditQuery{Principal: q.Principal, Resource: q.Resource, Action: q.Action}
	if !q.Since.IsZero() {
		ms := q.Since.UnixMilli()
		query.SinceMs = &ms
	}
	if q.Limit > 0 {
		query.Limit = &q.Limit
	}
	text, err := json.Marshal(query)
	if err != nil {
		return nil, err
	}
	t := C.CString(string(text))
	defer C.free(unsafe.Pointer(t))
	var records []AuditRecord
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&records, func(out **C.char) C.strata_status { return C.strata_audit_show(h, t, out) })
	})
	if err != nil {
		return nil, err
	}
	return records, nil
}

// AuditSeal seals the open segment of the audit log now, so that every record written so far
// is covered by a signature. Auditing off is ErrConfig; a principal without admin on the lake
// gets ErrPermissionDenied.
func (l *Lake) AuditSeal() error {
	return l.with(func(h *C.strata_lake) error {
		return call(func() C.strata_status { return C.strata_audit_seal(h) })
	})
}

// Erase erases a data subject: its rows from the tables the catalog marks (or req.Tables) and
// the objects under the config's [erasure] prefixes whose keys contain its value, recorded in
// the audit log; with req.DryRun it only reports. A request without a column or value, or
// naming a table the catalog does not have, is ErrInvalidArgument; a principal without admin
// on the lake gets ErrPermissionDenied.
func (l *Lake) Erase(req EraseRequest) (EraseReport, error) {
	var report EraseReport
	text, err := json.Marshal(req)
	if err != nil {
		return report, err
	}
	t := C.CString(string(text))
	defer C.free(unsafe.Pointer(t))
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&report, func(out **C.char) C.strata_status { return C.strata_erase(h, t, out) })
	})
	return report, err
}

// Compliance computes the report of framework ("gdpr" or "hipaa") from the live lake.
// Failed controls are in the report, not an error; another framework is ErrInvalidArgument; a
// principal without admin on the lake gets ErrPermissionDenied.
func (l *Lake) Compliance(framework string) (ComplianceReport, error) {
	var report ComplianceReport
	f, err := cString("framework", framework)
	if err != nil {
		return report, err
	}
	defer C.free(unsafe.Pointer(f))
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&report, func(out **C.char) C.strata_status { return C.strata_compliance(h, f, out) })
	})
	return report, err
}
