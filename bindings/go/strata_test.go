package strata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTemp(t testing.TB) *Lake {
	t.Helper()
	lake, err := OpenDir(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	return lake
}

func TestPutGetStatListDelete(t *testing.T) {
	lake := openTemp(t)
	if Version() == "" {
		t.Fatal("no version")
	}
	for _, size := range []int{0, 1, 4 << 10, 4 << 20} {
		key := fmt.Sprintf("objects/%d.bin", size)
		data := bytes.Repeat([]byte{byte(size), 7, 9}, size/3+1)[:size]
		if err := lake.Put(key, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		n, err := lake.Get(key, &out)
		if err != nil || n != int64(size) || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("get %s: n=%d err=%v", key, n, err)
		}
		copied, err := lake.GetBytes(key)
		if err != nil || !bytes.Equal(copied, data) {
			t.Fatalf("get bytes %s: %v", key, err)
		}
		info, err := lake.Stat(key)
		if err != nil || info.Size != uint64(size) || info.Tier != "hot" || info.Key != key {
			t.Fatalf("stat %s: %+v %v", key, info, err)
		}
	}
	list, err := lake.List("objects/")
	if err != nil || len(list) != 4 {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := lake.Delete("objects/1.bin"); err != nil {
		t.Fatal(err)
	}
	report, err := lake.RunTiers(true, time.Now().Add(31*24*time.Hour))
	if err != nil || !report.DryRun || len(report.Actions) != 3 {
		t.Fatalf("tier run: %+v %v", report, err)
	}
}

func TestErrorsCarryTheKind(t *testing.T) {
	lake := openTemp(t)
	_, err := lake.GetBytes("missing")
	var serr *Error
	if !errors.As(err, &serr) || serr.Kind != KindNotFound || !errors.Is(err, ErrNotFound) {
		t.Fatalf("want not_found, got %v", err)
	}
	if !strings.Contains(err.Error(), "missing") {
		t.Fatalf("message lacks the key: %v", err)
	}
	if err := lake.PutBytes("../escape", []byte("x")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("want invalid_argument, got %v", err)
	}
	if _, err := Open("dir = ["); !errors.Is(err, ErrConfig) {
		t.Fatalf("want config, got %v", err)
	}
	if _, err := Scan("/nonexistent.parquet", nil, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want not_found, got %v", err)
	}
}

func TestCloseAndFinalizer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	lake, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	lake.Close()
	lake.Close()
	if err := lake.PutBytes("k", nil); err != ErrClosed {
		t.Fatalf("want ErrClosed, got %v", err)
	}
	// A lake dropped without Close is closed by its finalizer, releasing the root's lock.
	func() {
		if _, err := OpenDir(dir); err != nil {
			t.Fatal(err)
		}
	}()
	var reopened *Lake
	for i := 0; i < 50 && reopened == nil; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		reopened, _ = OpenDir(dir)
	}
	if reopened == nil {
		t.Fatal("the finalizer did not close the dropped lake")
	}
	reopened.Close()
}

// 64 goroutines share one lake: puts, gets, stats, lists and errors, each checked, so a
// message from another goroutine's failure would be caught.
func TestSixtyFourGoroutines(t *testing.T) {
	lake := openTemp(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				key := fmt.Sprintf("g%02d/%03d", g, i)
				data := []byte(strings.Repeat(key, i+1))
				if err := lake.PutBytes(key, data); err != nil {
					errs <- err
					return
				}
				got, err := lake.GetBytes(key)
				if err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("get %s: %v", key, err)
					return
				}
				missing := fmt.Sprintf("g%02d/missing-%d", g, i)
				if _, err := lake.Stat(missing); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), missing) {
					errs <- fmt.Errorf("stat %s: wrong error %v", missing, err)
					return
				}
			}
			list, err := lake.List(fmt.Sprintf("g%02d/", g))
			if err != nil || len(list) != 20 {
				errs <- fmt.Errorf("list g%02d: %d %v", g, len(list), err)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func parquetFile(t testing.TB) string {
	path := os.Getenv("STRATA_TEST_PARQUET")
	if path == "" {
		t.Skip("STRATA_TEST_PARQUET is not set (tests/bindings_go.rs sets it)")
	}
	return path
}

func TestScanProfileCheck(t *testing.T) {
	path := parquetFile(t)
	ipc, err := Scan(path, []string{"id", "email"}, "id < 10")
	if err != nil {
		t.Fatal(err)
	}
	// An Arrow IPC stream starts with the continuation marker 0xFFFFFFFF.
	if len(ipc) < 8 || !bytes.Equal(ipc[:4], []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Fatalf("not an IPC stream: % x", ipc[:8])
	}
	if _, err := Scan(path, nil, "id >>> 1"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("want invalid_argument, got %v", err)
	}
	if n, err := ScanCount(path, "id < 10", 2); err != nil || n != 10 {
		t.Fatalf("count: %d %v", n, err)
	}
	if n, err := ScanCount(path, "", 0); err != nil || n != 100 {
		t.Fatalf("count of every row: %d %v", n, err)
	}
	if _, err := ScanCount(path, "id >>> 1", 1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("count of a bad filter: want invalid_argument, got %v", err)
	}
	if _, err := ScanCount(path, "", -1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("count on -1 threads: want invalid_argument, got %v", err)
	}
	if _, err := ScanCount(filepath.Join(t.TempDir(), "none.parquet"), "", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("count of a missing file: want not_found, got %v", err)
	}
	profile, err := ProfileFile(path)
	if err != nil || profile.Rows != 100 || len(profile.Columns) != 4 || profile.Columns[0].Name != "id" {
		t.Fatalf("profile: %+v %v", profile, err)
	}
	if profile.Columns[0].Nulls != 0 || profile.Columns[3].Mean == nil {
		t.Fatalf("profile columns: %+v", profile.Columns)
	}
	rules := "[[rules]]\ncheck = \"not_null\"\ncolumn = \"id\"\n" +
		"[[rules]]\ncheck = \"range\"\ncolumn = \"id\"\nmin = 0\nmax = 49\n"
	report, err := CheckFile(path, rules)
	if err != nil || report.Rows != 100 || report.Passed || len(report.Results) != 2 {
		t.Fatalf("check: %+v %v", report, err)
	}
	if !report.Results[0].Passed || report.Results[1].AffectedRows != 50 {
		t.Fatalf("check results: %+v", report.Results)
	}
}

func TestKeysAndEncryption(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	lake, err := Open(fmt.Sprintf("dir = %q\n[encryption]\nprefixes = [\"pii/\"]\n", dir))
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	id, err := lake.KeyNew("first")
	if err != nil || id != "first" {
		t.Fatalf("key new: %q %v", id, err)
	}
	if err := lake.PutBytes("pii/card.csv", []byte("4111111111111111")); err != nil {
		t.Fatal(err)
	}
	info, err := lake.Stat("pii/card.csv")
	if err != nil || info.KeyID == nil || *info.KeyID != "first" || info.StoredSize <= info.Size {
		t.Fatalf("stat: %+v %v", info, err)
	}
	report, err := lake.RotateKeys()
	if err != nil || report.Rewrapped != 1 || report.KeyID == "first" {
		t.Fatalf("rotate: %+v %v", report, err)
	}
	keys, err := lake.Keys()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys: %+v %v", keys, err)
	}
	got, err := lake.GetBytes("pii/card.csv")
	if err != nil || string(got) != "4111111111111111" {
		t.Fatalf("get after rotation: %q %v", got, err)
	}
	if _, err := lake.KeyNew("first"); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("want already_exists, got %v", err)
	}
}

// A bad scan setup gets the status strata_scan gives in C (and the C++ wrapper throws), with
// a message naming the column.
func TestScanSetupErrorsHaveOneStatus(t *testing.T) {
	path := parquetFile(t)
	deep := strings.Repeat("(", 20000) + "id < 10" + strings.Repeat(")", 20000)
	cases := []struct {
		columns []string
		filter  string
		want    *Error
		naming  string
	}{
		{nil, "nope = 1", ErrNotFound, "nope"},
		{nil, "id = 'abc'", ErrInvalidArgument, "column id"},
		{nil, "id >>> 3", ErrInvalidArgument, "'>'"},
		{[]string{"id", "nope"}, "", ErrNotFound, "nope"},
		{nil, deep, ErrInvalidArgument, "256"},
		{nil, strings.Repeat("NOT ", 20000) + "id < 10", ErrInvalidArgument, "256"},
	}
	for _, c := range cases {
		_, err := Scan(path, c.columns, c.filter)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.naming) {
			t.Errorf("columns %v, filter %.40q: want %v naming %q, got %v", c.columns, c.filter, c.want.Kind, c.naming, err)
		}
	}
	// A flat AND of many terms is fine.
	terms := make([]string, 4000)
	for i := range terms {
		terms[i] = fmt.Sprintf("id <> %d", -i-1)
	}
	if _, err := Scan(path, nil, strings.Join(terms, " AND ")+" AND id < 10"); err != nil {
		t.Fatal(err)
	}
}

// Every exported function taking a string refuses one holding a NUL byte, with
// InvalidArgument, before C sees it: C would read it only up to the NUL, so
// PutBytes("nul\x00inside") stored the object under "nul".
func TestStringsWithNULAreRefused(t *testing.T) {
	lake := openTemp(t)
	const nul = "nul\x00inside"
	refused := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "NUL byte at offset 3") {
			t.Errorf("%s: want invalid_argument naming the NUL, got %v", name, err)
		}
	}
	refused("PutBytes", lake.PutBytes(nul, []byte("x")))
	refused("Put", lake.Put(nul, strings.NewReader("x")))
	if list, err := lake.List(""); err != nil || len(list) != 0 {
		t.Fatalf("something was stored: %v %v", list, err)
	}
	_, err := lake.Get(nul, io.Discard)
	refused("Get", err)
	_, err = lake.GetBytes(nul)
	refused("GetBytes", err)
	_, err = lake.Stat(nul)
	refused("Stat", err)
	_, err = lake.List(nul)
	refused("List", err)
	refused("Delete", lake.Delete(nul))
	_, err = lake.KeyNew(nul)
	refused("KeyNew", err)
	_, err = Open("dir = \"x\"\n\x00")
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Open: want invalid_argument, got %v", err)
	}
	_, err = OpenFile(nul)
	refused("OpenFile", err)
	_, err = OpenDir(nul)
	refused("OpenDir", err)
	_, err = Scan(nul, nil, "")
	refused("Scan path", err)
	_, err = Scan("x.parquet", []string{"id", nul}, "")
	refused("Scan columns", err)
	_, err = Scan("x.parquet", nil, "id\x00 < 10")
	if !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Scan filter: want invalid_argument, got %v", err)
	}
	_, err = ProfileFile(nul)
	refused("ProfileFile", err)
	_, err = CheckFile(nul, "")
	refused("CheckFile path", err)
	_, err = CheckFile("x.parquet", nul)
	refused("CheckFile rules", err)
}
