// Package strata is the Go binding of strata, an embedded storage and cache library: a small
// data lake inside the process. It wraps the C ABI (include/strata.h) with cgo and uses only
// the standard library.
//
// Build with the library on the linker path, e.g.
//
//	CGO_LDFLAGS="-L/path/to/target/release -Wl,-rpath,/path/to/target/release" go build
package strata

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -lstrata
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

// Lake is an open data lake. It is safe for use by many goroutines at once.
type Lake struct {
	// mu guards h: calls hold it shared, Close exclusively, so Close never frees the handle
	// under a running call.
	mu sync.RWMutex
	h  *C.strata_lake
}

// ObjectInfo is what Stat and List report about an object.
type ObjectInfo struct {
	Key             string  `json:"key"`
	Tier            string  `json:"tier"`
	Size            uint64  `json:"size"`
	Checksum        string  `json:"checksum"`
	CreatedMs       uint64  `json:"created_ms"`
	LastAccessMs    uint64  `json:"last_access_ms"`
	AccessCount     uint64  `json:"access_count"`
	StoredSize      uint64  `json:"stored_size"`
	KeyID           *string `json:"key_id"`
	EnvelopeVersion *uint8  `json:"envelope_version"`
}

func wrap(h *C.strata_lake) *Lake {
	l := &Lake{h: h}
	// A safety net only: a Lake dropped without Close still releases the data root's lock.
	runtime.SetFinalizer(l, (*Lake).Close)
	return l
}

// Open opens the lake described by a TOML config ("" for the default layout under
// ./strata-data).
func Open(configTOML string) (*Lake, error) {
	text, err := cString("config", configTOML)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(text))
	var h *C.strata_lake
	if err := call(func() C.strata_status { return C.strata_open(text, &h) }); err != nil {
		return nil, err
	}
	return wrap(h), nil
}

// OpenFile opens the lake described by the TOML config file at path.
func OpenFile(path string) (*Lake, error) {
	p, err := cString("path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	var h *C.strata_lake
	if err := call(func() C.strata_status { return C.strata_open_file(p, &h) }); err != nil {
		return nil, err
	}
	return wrap(h), nil
}

// OpenDir opens (creating if needed) a lake with the default layout rooted at dir.
func OpenDir(dir string) (*Lake, error) {
	d, err := cString("dir", dir)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(d))
	var h *C.strata_lake
	if err := call(func() C.strata_status { return C.strata_open_dir(d, &h) }); err != nil {
		return nil, err
	}
	return wrap(h), nil
}

// Close closes the lake, releasing its data root. Later calls return ErrClosed; closing
// twice is harmless.
func (l *Lake) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h != nil {
		C.strata_lake_free(l.h)
		l.h = nil
		runtime.SetFinalizer(l, nil)
	}
	return nil
}

// with runs f with the open handle, or returns ErrClosed.
func (l *Lake) with(f func(h *C.strata_lake) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.h == nil {
		return ErrClosed
	}
	return f(l.h)
}

// PutBytes stores data under key, replacing any object there.
func (l *Lake) PutBytes(key string, data []byte) error {
	k, err := cString("key", key)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(k))
	return l.with(func(h *C.strata_lake) error {
		var p *C.uint8_t
		if len(data) > 0 {
			// cgo allows passing Go memory without Go pointers inside for the call's duration.
			p = (*C.uint8_t)(unsafe.Pointer(&data[0]))
		}
		return call(func() C.strata_status {
			return C.strata_put(h, k, p, C.size_t(len(data)), nil)
		})
	})
}

// Put stores everything r yields under key. The object is written atomically, so r is read
// to the end into memory first.
func (l *Lake) Put(key string, r io.Reader) error {
	// Refused before r is read.
	if _, err := cString("key", key); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	return l.PutBytes(key, buf.Bytes())
}

// view runs f on the object's bytes in strata's memory (a memory map for local tiers),
// without copying; the slice is invalid after f returns.
func (l *Lake) view(key string, f func([]byte) error) error {
	k, err := cString("key", key)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(k))
	return l.with(func(h *C.strata_lake) error {
		var b *C.strata_bytes
		var data *C.uint8_t
		var n C.size_t
		if err := call(func() C.strata_status { return C.strata_get_bytes(h, k, &b, &data, &n) }); err != nil {
			return err
		}
		defer C.strata_bytes_free(b)
		if n == 0 {
			return f(nil)
		}
		return f(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n)))
	})
}

// Get writes the object under key to w and returns the byte count. The bytes are handed to w
// straight from strata's memory (no copy in Go); w must not keep the slice after Write.
func (l *Lake) Get(key string, w io.Writer) (int64, error) {
	var written int
	err := l.view(key, func(b []byte) error {
		var err error
		written, err = w.Write(b)
		return err
	})
	return int64(written), err
}

// GetBytes returns a copy of the object under key: the one copy, from strata's memory into
// Go's.
func (l *Lake) GetBytes(key string) ([]byte, error) {
	var out []byte
	err := l.view(key, func(b []byte) error {
		out = make([]byte, len(b))
		copy(out, b)
		return nil
	})
	return out, err
}

// jsonCall runs a strata function that returns JSON and decodes it into v. A function that
// fails but still writes JSON (strata_lake_sync's report of the copies that failed) gives
// both: v is decoded and the error returned, and the string is freed either way.
func jsonCall(v any, f func(out **C.char) C.strata_status) error {
	var out *C.char
	err := call(func() C.strata_status { return f(&out) })
	if out == nil {
		return err
	}
	defer C.strata_string_free(out)
	if decodeErr := json.Unmarshal([]byte(C.GoString(out)), v); err == nil {
		return decodeErr
	}
	return err
}

// Stat reports on the object under key.
func (l *Lake) Stat(key string) (ObjectInfo, error) {
	var info ObjectInfo
	k, err := cString("key", key)
	if err != nil {
		return info, err
	}
	defer C.free(unsafe.Pointer(k))
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&info, func(out **C.char) C.strata_status { return C.strata_stat_json(h, k, out) })
	})
	return info, err
}

// List reports on the objects whose keys start with prefix, in key order.
func (l *Lake) List(prefix string) ([]ObjectInfo, error) {
	p, err := cString("prefix", prefix)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	var infos []ObjectInfo
	err = l.with(func(h *C.strata_lake) error {
		return jsonCall(&infos, func(out **C.char) C.strata_status { return C.strata_list_json(h, p, out) })
	})
	return infos, err
}

// Delete removes the object under key.
func (l *Lake) Delete(key string) error {
	k, err := cString("key", key)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(k))
	return l.with(func(h *C.strata_lake) error {
		return call(func() C.strata_status { return C.strata_delete(h, k) })
	})
}

// TierRunReport is what a tier run did (or, dry, would do).
type TierRunReport struct {
	DryRun         bool              `json:"dry_run"`
	Actions        []json.RawMessage `json:"actions"`
	Moved          uint64            `json:"moved"`
	BytesMoved     uint64            `json:"bytes_moved"`
	Expired        uint64            `json:"expired"`
	OrphansRemoved uint64            `json:"orphans_removed"`
	Failed         uint64            `json:"failed"`
}

// RunTiers applies the lifecycle and retention policies as of now (the zero time: the
// current time).
func (l *Lake) RunTiers(dryRun bool, now time.Time) (TierRunReport, error) {
	var ms uint64
	if !now.IsZero() {
		ms = uint64(now.UnixMilli())
	}
	var report TierRunReport
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&report, func(out **C.char) C.strata_status {
			return C.strata_tier_run(h, C.bool(dryRun), C.uint64_t(ms), out)
		})
	})
	return report, err
}
