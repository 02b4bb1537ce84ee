package strata

/*
#include "strata.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
)

// Kind is the category of a strata error: the C status code.
type Kind int

// The error kinds, equal to the C status codes.
const (
	KindInvalidArgument Kind = 1
	KindNotFound        Kind = 2
	KindAlreadyExists   Kind = 3
	KindIO              Kind = 4
	KindCorrupt         Kind = 5
	KindConfig          Kind = 6
	KindBusy            Kind = 7
	KindRemote          Kind = 8
	KindUnsupported     Kind = 9
	KindInternal        Kind = 10
	KindCrypto          Kind = 11
	// The principal of the handle (see Lake.As) may not do this under the config's [access]
	// rules; the message names the principal, the action and the resource.
	KindPermissionDenied Kind = 12
)

var kindNames = map[Kind]string{
	KindInvalidArgument:  "invalid_argument",
	KindNotFound:         "not_found",
	KindAlreadyExists:    "already_exists",
	KindIO:               "io",
	KindCorrupt:          "corrupt",
	KindConfig:           "config",
	KindBusy:             "busy",
	KindRemote:           "remote",
	KindUnsupported:      "unsupported",
	KindInternal:         "internal",
	KindCrypto:           "crypto",
	KindPermissionDenied: "permission_denied",
}

func (k Kind) String() string {
	if name, ok := kindNames[k]; ok {
		return name
	}
	return fmt.Sprintf("status_%d", int(k))
}

// Error is a failed strata call: its kind and strata's message.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return "strata: " + e.Kind.String() + ": " + e.Message }

// Is makes errors.Is(err, strata.ErrNotFound) match any error of that kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is, one per kind.
var (
	ErrInvalidArgument  = &Error{Kind: KindInvalidArgument}
	ErrNotFound         = &Error{Kind: KindNotFound}
	ErrAlreadyExists    = &Error{Kind: KindAlreadyExists}
	ErrIO               = &Error{Kind: KindIO}
	ErrCorrupt          = &Error{Kind: KindCorrupt}
	ErrConfig           = &Error{Kind: KindConfig}
	ErrBusy             = &Error{Kind: KindBusy}
	ErrRemote           = &Error{Kind: KindRemote}
	ErrUnsupported      = &Error{Kind: KindUnsupported}
	ErrInternal         = &Error{Kind: KindInternal}
	ErrCrypto           = &Error{Kind: KindCrypto}
	ErrPermissionDenied = &Error{Kind: KindPermissionDenied}
)

// ErrClosed is returned by calls on a closed Lake.
var ErrClosed = &Error{Kind: KindInvalidArgument, Message: "the lake is closed"}

// call runs one C function and turns its status into an error. strata keeps the last error
// message per OS thread, and the Go scheduler may move a goroutine between threads between
// two cgo calls, so the thread is locked from the call until the message is read.
func call(f func() C.strata_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	status := f()
	if status == C.STRATA_OK {
		return nil
	}
	return &Error{Kind: Kind(status), Message: C.GoString(C.strata_last_error_message())}
}

// cString copies s into C memory for one call; the caller frees it with C.free. A NUL byte
// inside s is refused with an InvalidArgument error before anything reaches C, which would
// read the string only up to the NUL ("nul\x00inside" would name "nul"). what names the
// argument in the message.
func cString(what, s string) (*C.char, error) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, &Error{
			Kind:    KindInvalidArgument,
			Message: fmt.Sprintf("%s contains a NUL byte at offset %d", what, i),
		}
	}
	return C.CString(s), nil
}
