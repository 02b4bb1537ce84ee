package strata

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Put/Get through strata against os.WriteFile/os.ReadFile of the same bytes:
//
//	go test -run XXX -bench . -benchtime 200x
func benchSizes(b *testing.B, f func(b *testing.B, data []byte)) {
	for _, size := range []int{4 << 10, 4 << 20} {
		data := bytes.Repeat([]byte("strata"), size/6+1)[:size]
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			f(b, data)
		})
	}
}

func BenchmarkLakePut(b *testing.B) {
	lake := openTemp(b)
	benchSizes(b, func(b *testing.B, data []byte) {
		for i := 0; i < b.N; i++ {
			if err := lake.PutBytes("bench/object", data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLakeGet(b *testing.B) {
	lake := openTemp(b)
	benchSizes(b, func(b *testing.B, data []byte) {
		if err := lake.PutBytes("bench/object", data); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := lake.GetBytes("bench/object"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOSWriteFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "object")
	benchSizes(b, func(b *testing.B, data []byte) {
		for i := 0; i < b.N; i++ {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOSReadFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "object")
	benchSizes(b, func(b *testing.B, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := os.ReadFile(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}
