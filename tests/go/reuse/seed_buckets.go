//go:build !go1.24

package main

import "unsafe"

// hmap (Go <= 1.23): count int, flags uint8, B uint8, noverflow uint16,
// hash0 uint32.
func seed(hdr uintptr) uint64 {
	return uint64(*(*uint32)(unsafe.Pointer(hdr + 12)))
}
