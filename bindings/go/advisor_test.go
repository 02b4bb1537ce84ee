package strata

import (
	"bytes"
	"errors"
	"testing"
)

// Advice, its application as a dry run, the cost report and an incremental sync between the
// lake's hot and cold tiers.
func TestAdviseCostAndSync(t *testing.T) {
	lake, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	if err := lake.Put("logs/a.txt", bytes.NewReader([]byte("sync me"))); err != nil {
		t.Fatal(err)
	}
	recs, err := lake.Advise("")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind == "" || r.Advice == "" {
			t.Fatalf("recommendation: %+v", r)
		}
	}
	if _, err := lake.ApplyAdvice("", "", true); err != nil {
		t.Fatal(err)
	}
	cost, err := lake.Cost()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cost["tiers"]; !ok {
		t.Fatalf("cost: %v", cost)
	}
	plan, err := lake.Sync("hot", "cold", SyncOptions{Prefix: "logs/", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.DryRun || plan.Copied != 1 {
		t.Fatalf("plan: %+v", plan)
	}
	done, err := lake.Sync("hot", "cold", SyncOptions{Prefix: "logs/"})
	if err != nil {
		t.Fatal(err)
	}
	if done.Copied != 1 || done.BytesCopied == 0 {
		t.Fatalf("sync: %+v", done)
	}
	again, err := lake.Sync("hot", "cold", SyncOptions{Prefix: "logs/"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Copied != 0 || again.Skipped != 1 {
		t.Fatalf("second sync: %+v", again)
	}
	if _, err := lake.Sync("hot", "cold", SyncOptions{Concurrency: 5000}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad concurrency: %v", err)
	}
}
