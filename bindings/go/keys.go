package strata

/*
#include <stdlib.h>
#include "strata.h"
*/
import "C"

import "unsafe"

// KeyInfo describes a key on the lake's key ring (never the key itself).
type KeyInfo struct {
	ID        string `json:"id"`
	CreatedMs uint64 `json:"created_ms"`
	Active    bool   `json:"active"`
	Objects   uint64 `json:"objects"`
}

// RotateReport is what a key rotation did.
type RotateReport struct {
	KeyID     string      `json:"key_id"`
	Rewrapped uint64      `json:"rewrapped"`
	Failed    [][2]string `json:"failed"`
}

// KeyNew adds a key to the lake's key ring (created on first use) and makes it active for new
// objects; id "" generates one. It returns the key's id.
func (l *Lake) KeyNew(id string) (string, error) {
	var cid *C.char
	if id != "" {
		var err error
		if cid, err = cString("key id", id); err != nil {
			return "", err
		}
		defer C.free(unsafe.Pointer(cid))
	}
	var newID string
	err := l.with(func(h *C.strata_lake) error {
		var out *C.char
		if err := call(func() C.strata_status { return C.strata_key_new(h, cid, &out) }); err != nil {
			return err
		}
		defer C.strata_string_free(out)
		newID = C.GoString(out)
		return nil
	})
	return newID, err
}

// Keys lists the keys on the lake's key ring and how many objects each protects.
func (l *Lake) Keys() ([]KeyInfo, error) {
	var keys []KeyInfo
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&keys, func(out **C.char) C.strata_status { return C.strata_key_list(h, out) })
	})
	return keys, err
}

// RotateKeys makes a new active key and re-wraps every encrypted object's data key under it.
func (l *Lake) RotateKeys() (RotateReport, error) {
	var report RotateReport
	err := l.with(func(h *C.strata_lake) error {
		return jsonCall(&report, func(out **C.char) C.strata_status { return C.strata_key_rotate(h, out) })
	})
	return report, err
}
