// reuse: map identity. Three maps, each written by goroutine A, then by
// goroutine B:
//
//   - reuse:  A's map is dropped and collected; the GC gives its address
//     to a new map of the same type, which B writes. Two maps.
//   - clear:  A fills the map and clears it (the runtime picks a new hash
//     seed), then B writes it. One map.
//   - delete: A fills the map and deletes every key (the last delete picks
//     a new hash seed), then B writes it. One map.
//
// The program writes what it saw to the side file given as its argument,
// one line per scenario: "NAME ADDR_A SEED_A ADDR_B SEED_B" (the address
// and hash seed of the map each goroutine wrote, read from the runtime's
// header), so the test knows which maps to look for and that the seed did
// change. When the address never came back it writes "reuse none ROUNDS"
// and exits 3.
package main

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"
)

const (
	writes    = 100
	maxRounds = 200  // garbage collections to wait for the address
	perRound  = 4096 // new maps made after each while looking for it
)

var (
	old   map[int]int
	found map[int]int
	sink  []map[int]int // keeps the candidates on the heap
)

// A map value is a pointer to its header; seed (seed_*.go) reads the hash
// seed from it, as each runtime lays it out.
func header(m unsafe.Pointer) uintptr { return *(*uintptr)(m) }

// inGoroutine runs f in a new goroutine and waits for it.
func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	<-done
}

// lookFor makes maps of old's type until one lands at addr. One P while
// it looks: the freed slot comes back through that P's own cache, whatever
// else the machine is doing (with several, a busy host could keep it on
// another P's for every round).
func lookFor(addr uintptr) (int, bool) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for round := 1; round <= maxRounds; round++ {
		sink = nil
		runtime.GC()
		runtime.GC()
		for i := 0; i < perRound; i++ {
			m := make(map[int]int)
			if header(unsafe.Pointer(&m)) == addr {
				found = m
				return round, true
			}
			sink = append(sink, m)
		}
	}
	return maxRounds, false
}

func reuse(out *os.File) bool {
	old = make(map[int]int)
	inGoroutine(func() {
		for i := 0; i < writes; i++ {
			old[i] = i // @reuse-a
		}
	})
	addr := header(unsafe.Pointer(&old))
	seedA := seed(addr)
	fmt.Fprintf(out, "reuse-a %p\n", old)
	old = nil
	rounds, ok := lookFor(addr)
	sink = nil
	if !ok {
		fmt.Fprintf(out, "reuse none %d\n", rounds)
		return false
	}
	fmt.Fprintf(out, "reuse-b %p after %d rounds\n", found, rounds)
	inGoroutine(func() {
		for i := 0; i < writes; i++ {
			found[i] = -i // @reuse-b
		}
	})
	fmt.Fprintf(out, "reuse %#x %d %#x %d\n", addr, seedA, addr,
		seed(header(unsafe.Pointer(&found))))
	return true
}

func cleared(out *os.File) {
	m := make(map[int]bool)
	addr := header(unsafe.Pointer(&m))
	var seedA uint64
	inGoroutine(func() {
		for i := 0; i < writes; i++ {
			m[i] = true // @clear-a
		}
		seedA = seed(addr)
		for k := range m { // the compiler makes this runtime.mapclear
			delete(m, k) // @clear-clear
		}
	})
	seedB := seed(addr)
	inGoroutine(func() {
		for i := 0; i < writes; i++ {
			m[i] = false // @clear-b
		}
	})
	fmt.Fprintf(out, "clear %#x %d %#x %d\n", addr, seedA, addr, seedB)
}

func deleted(out *os.File) {
	m := make(map[int]string)
	addr := header(unsafe.Pointer(&m))
	var seedA uint64
	inGoroutine(func() {
		for i := 0; i < writes; i++ {
			m[i] = "a" // @delete-a
		}
		seedA = seed(addr)
		for i := 0; i < writes; i++ {
			delete(m, i) // @delete-delete
		}
	})
	seedB := seed(addr)
	inGoroutine(func() {
		for i := 0; i < writes; i++ {
			m[i] = "b" // @delete-b
		}
	})
	fmt.Fprintf(out, "delete %#x %d %#x %d\n", addr, seedA, addr, seedB)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: reuse SIDE_FILE")
		os.Exit(2)
	}
	out, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer out.Close()
	cleared(out)
	deleted(out)
	if !reuse(out) {
		out.Close()
		os.Exit(3)
	}
}
