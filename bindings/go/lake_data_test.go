package strata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// The people file's projection and filter the lake tests compare: id 37..79.
var (
	peopleColumns = []string{"id", "name", "amount"}
	peopleFilter  = "id >= 37 AND amount < 120"
)

const peopleRows = 43

// envFile is the path in environment variable name, which tests/bindings_go.rs sets.
func envFile(t *testing.T, name string) string {
	t.Helper()
	path := os.Getenv(name)
	if path == "" {
		t.Skip(name + " is not set (tests/bindings_go.rs sets it)")
	}
	return path
}

// demotingLake opens a lake under a fresh directory with a hot local tier and the cold tier
// coldTier (TOML lines), demoting every object at the next tier run.
func demotingLake(t *testing.T, coldTier string) *Lake {
	t.Helper()
	config := fmt.Sprintf("dir = %q\n"+
		"[[tiers]]\nname = \"hot\"\nkind = \"local\"\n"+
		"[[tiers]]\nname = \"cold\"\n%s"+
		"[[lifecycle]]\nprefix = \"\"\ndemote_after_age = \"0s\"\n",
		filepath.Join(t.TempDir(), "lake"), coldTier)
	lake, err := Open(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	return lake
}

// decoder returns a function that decodes what a scan returned (Arrow IPC stream bytes, or an
// error that fails the test) into columns and rows.
func decoder(t *testing.T) func([]byte, error) *ipcTable {
	return func(ipc []byte, err error) *ipcTable {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		table, err := readIPC(ipc)
		if err != nil {
			t.Fatal(err)
		}
		return table
	}
}

// sameRows checks that got and want hold the same columns and, in any order, the same want
// rows.
func sameRows(t *testing.T, got, want *ipcTable, rows int) {
	t.Helper()
	if !reflect.DeepEqual(got.names, want.names) || !reflect.DeepEqual(got.types, want.types) {
		t.Fatalf("columns %v %v, want %v %v", got.names, got.types, want.names, want.types)
	}
	if len(got.rows) != rows || len(want.rows) != rows {
		t.Fatalf("%d rows and %d rows, want %d", len(got.rows), len(want.rows), rows)
	}
	text := func(rows [][]string) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = strings.Join(r, "|")
		}
		sort.Strings(out)
		return out
	}
	if g, w := text(got.rows), text(want.rows); !reflect.DeepEqual(g, w) {
		t.Fatalf("rows differ:\n%v\n%v", g, w)
	}
}

// writeDemoted writes the file at path into lake as dataset prefix with options, demotes it,
// and checks every object it made is on the cold tier.
func writeDemoted(t *testing.T, lake *Lake, prefix, path string, options *WriteOptions) *WriteSummary {
	t.Helper()
	ipc, err := Scan(path, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	summary, err := lake.Write(prefix, bytes.NewReader(ipc), options)
	if err != nil {
		t.Fatal(err)
	}
	if len(summary.Files) == 0 || summary.Format != "parquet" {
		t.Fatalf("summary: %+v", summary)
	}
	report, err := lake.RunTiers(false, time.Time{})
	if err != nil || report.Moved != uint64(len(summary.Files)) {
		t.Fatalf("tier run: %+v %v", report, err)
	}
	for _, f := range summary.Files {
		if !strings.HasPrefix(f.Path, prefix+"/") {
			t.Fatalf("%s is not under %s/", f.Path, prefix)
		}
		info, err := lake.Stat(f.Path)
		if err != nil || info.Tier != "cold" {
			t.Fatalf("stat %s: %+v %v", f.Path, info, err)
		}
	}
	return summary
}

// coldObjectScans checks that the people file, written into lake and demoted, scans like the
// file.
func coldObjectScans(t *testing.T, lake *Lake) {
	rowsOf := decoder(t)
	people := envFile(t, "STRATA_TEST_PARQUET")
	summary := writeDemoted(t, lake, "people", people, &WriteOptions{Codec: "zstd:3", RowGroupRows: 30})
	if summary.Rows != 100 || summary.CodecPolicy != "zstd:3" || len(summary.Columns) != 4 {
		t.Fatalf("summary: %+v", summary)
	}
	got := rowsOf(lake.Scan("people", peopleColumns, peopleFilter))
	want := rowsOf(Scan(people, peopleColumns, peopleFilter))
	sameRows(t, got, want, peopleRows)
	sameRows(t, rowsOf(lake.Scan("people/", nil, "")), rowsOf(Scan(people, nil, "")), 100)
}

func TestLakeScanOfAColdObject(t *testing.T) {
	coldObjectScans(t, demotingLake(t, "kind = \"local\"\n"))
}

func TestLakeScanOfAnS3Object(t *testing.T) {
	endpoint := os.Getenv("STRATA_TEST_S3_ENDPOINT")
	if endpoint == "" {
		t.Skip("STRATA_TEST_S3_ENDPOINT is not set (.ci/run starts a loopback S3 server)")
	}
	bucket := os.Getenv("STRATA_TEST_S3_BUCKET")
	if bucket == "" {
		bucket = "strata-test"
	}
	tier := fmt.Sprintf("kind = \"s3\"\nbucket = %q\nendpoint = %q\nregion = \"us-east-1\"\n"+
		"access_key_id = \"testing\"\nsecret_access_key = \"testing\"\nallow_http = true\n"+
		"prefix = \"go-lake-scan-%d-%d\"\n", bucket, endpoint, os.Getpid(), time.Now().UnixNano())
	coldObjectScans(t, demotingLake(t, tier))
}

func TestLakeScanOfAPartitionedDataset(t *testing.T) {
	rowsOf := decoder(t)
	sales := envFile(t, "STRATA_TEST_SALES")
	lake := demotingLake(t, "kind = \"local\"\n")
	summary := writeDemoted(t, lake, "sales", sales, &WriteOptions{PartitionBy: []string{"region"}, RowGroupRows: 40})
	if summary.Partitions != 3 || summary.Rows != 300 {
		t.Fatalf("summary: %+v", summary)
	}
	columns := []string{"id", "region", "amount"}
	filter := "region = 'west' AND id < 200"
	sameRows(t, rowsOf(lake.Scan("sales", columns, filter)), rowsOf(Scan(sales, columns, filter)), 67)
	sameRows(t, rowsOf(lake.Scan("sales", columns, "")), rowsOf(Scan(sales, columns, "")), 300)
}

func TestLakeScanOfAnEncryptedParquetObject(t *testing.T) {
	rowsOf := decoder(t)
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake, err := OpenDir(envFile(t, "STRATA_TEST_ENCRYPTED_LAKE"))
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	got := rowsOf(lake.Scan("secure/people.parquet", peopleColumns, peopleFilter))
	want := rowsOf(Scan(people, peopleColumns, peopleFilter))
	sameRows(t, got, want, peopleRows)
	raw, err := lake.GetBytes("secure/people.parquet")
	if err != nil || bytes.Contains(raw, []byte("user7@example.com")) {
		t.Fatalf("the stored object holds plaintext (or cannot be read: %v)", err)
	}
}

func TestLakeScanAndWriteErrors(t *testing.T) {
	people := envFile(t, "STRATA_TEST_PARQUET")
	lake := openTemp(t)
	ipc, err := Scan(people, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.Write("people", bytes.NewReader(ipc), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key, filter string
		columns     []string
		want        error
		naming      string
	}{
		{"nothing", "", nil, ErrNotFound, "nothing"},
		{"people", "", []string{"id", "nope"}, ErrNotFound, "nope"},
		{"people", "nope > 1", nil, ErrNotFound, "nope"},
		{"people", "id >>> 3", nil, ErrInvalidArgument, "'>'"},
		{"../people", "", nil, ErrInvalidArgument, "people"},
		{"peo\x00ple", "", nil, ErrInvalidArgument, "NUL"},
	} {
		_, err := lake.Scan(c.key, c.columns, c.filter)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.naming) {
			t.Errorf("Scan(%q, %v, %q): %v, want %v naming %q", c.key, c.columns, c.filter, err, c.want, c.naming)
		}
	}
	for _, c := range []struct {
		prefix  string
		data    []byte
		options *WriteOptions
		naming  string
	}{
		{"x", ipc, &WriteOptions{Codec: "zip"}, "codec"},
		{"x", ipc, &WriteOptions{TargetFileSize: 1}, "target_file_size"},
		{"x", ipc, &WriteOptions{PartitionBy: []string{"ts:fortnight"}}, "partition_by"},
		{"x", ipc, &WriteOptions{Tier: "lukewarm"}, "lukewarm"},
		{"x", []byte("not arrow"), nil, "IPC"},
		{"x", nil, nil, "IPC"},
		{"", ipc, nil, "name"},
		{"x\x00y", ipc, nil, "NUL"},
	} {
		_, err := lake.Write(c.prefix, bytes.NewReader(c.data), c.options)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), c.naming) {
			t.Errorf("Write(%q, %+v): %v, want invalid_argument naming %q", c.prefix, c.options, err, c.naming)
		}
	}
	if list, err := lake.List("x"); err != nil || len(list) != 0 {
		t.Fatalf("failed writes left objects: %v %v", list, err)
	}
	lake.Close()
	if _, err := lake.Scan("people", nil, ""); err != ErrClosed {
		t.Fatalf("scan after close: %v", err)
	}
	if _, err := lake.Write("people", bytes.NewReader(ipc), nil); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}
