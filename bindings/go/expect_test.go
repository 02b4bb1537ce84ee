package strata

import (
	"bytes"
	"errors"
	"testing"
)

// dropSmall drops the rows whose amount is under 50 (amount = id * 1.5: ids 0..33).
const dropSmall = "[[rules]]\nname = \"small\"\ncheck = \"range\"\ncolumn = \"amount\"\nmin = 50\nexpect = \"drop\"\n"

// peopleTable makes a lake whose table silver/people holds the test file's 100 rows, and
// gives the lake, the table and those rows as Arrow IPC; both are closed when t ends.
func peopleTable(t *testing.T) (*Lake, *Table, []byte) {
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	table, err := lake.Table("silver/people")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { table.Close() })
	ipc, err := Scan(people, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Append(bytes.NewReader(ipc), nil); err != nil {
		t.Fatal(err)
	}
	return lake, table, ipc
}

// Rows failing a "drop" expectation go to the quarantine table; a failing "fail" rule
// commits nothing; bad rules are ErrConfig.
func TestAppendExpectingQuarantines(t *testing.T) {
	lake, table, ipc := peopleTable(t)
	report, err := lake.AppendExpecting("silver/people", bytes.NewReader(ipc), dropSmall)
	if err != nil {
		t.Fatal(err)
	}
	// amount = id * 1.5 for ids 0..99: ids 0..33 fail.
	if report.Rows != 100 || report.Kept != 66 || report.Quarantined != 34 || report.Version == nil || *report.Version != 1 {
		t.Fatalf("report: %+v", report)
	}
	if len(report.Quarantine) != 2 || report.Quarantine[0] != "silver/people__quarantine" {
		t.Fatalf("quarantine: %+v", report.Quarantine)
	}
	if len(report.Expectations) != 1 || report.Expectations[0].Expect != "drop" || report.Expectations[0].Failed != 34 {
		t.Fatalf("expectations: %+v", report.Expectations)
	}
	failing := "[[rules]]\nname = \"never\"\ncheck = \"range\"\ncolumn = \"amount\"\nmin = 1000000\nexpect = \"fail\"\n"
	if _, err := lake.AppendExpecting("silver/people", bytes.NewReader(ipc), failing); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("failing rule: %v", err)
	}
	if _, err := lake.AppendExpecting("silver/people", bytes.NewReader(ipc), "[[rules]]\nexpect = 3\n"); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad rules: %v", err)
	}
	decode := decoder(t)
	if got := len(decode(table.ScanVersion(-1, []string{"id"}, "")).rows); got != 166 {
		t.Fatalf("rows after: %d", got)
	}
}

// Merges take expectations: failing source rows are quarantined, the rest merged (here a
// delete of the matching rows, so that the merge changes the table).
func TestMergeExpectingQuarantines(t *testing.T) {
	lake, table, ipc := peopleTable(t)
	report, err := lake.MergeExpecting("silver/people", bytes.NewReader(ipc), MergeOptions{On: []string{"id"}, WhenMatched: "delete"}, dropSmall)
	if err != nil {
		t.Fatal(err)
	}
	if report.Rows != 100 || report.Kept != 66 || report.Quarantined != 34 || report.Version == nil || *report.Version != 1 {
		t.Fatalf("report: %+v", report)
	}
	if _, err := lake.MergeExpecting("silver/people", bytes.NewReader(ipc), MergeOptions{}, dropSmall); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("no key: %v", err)
	}
	decode := decoder(t)
	if got := len(decode(table.ScanVersion(-1, []string{"id"}, "")).rows); got != 34 {
		t.Fatalf("rows after: %d", got)
	}
}
