//go:build go1.24

package main

import "unsafe"

// internal/runtime/maps.Map (Swiss tables, Go >= 1.24 as the test
// toolchains build it): used uint64, seed uintptr.
func seed(hdr uintptr) uint64 {
	return uint64(*(*uintptr)(unsafe.Pointer(hdr + 8)))
}
