// probetest performs a known number of each kind of map operation, each kind
// from its own goroutine, at the lines tagged "// @name", so a test can
// assert exact counts, call sites and distinct goroutine ids:
//
//	1000 fast64 assigns, 500 faststr assigns, 200 fast64 deletes,
//	1 clear, 3 range loops over 800 entries (3 iterinit, 2400 iternext).
//
// Other modes, chosen by the first argument:
//
//	threads    4 goroutines, each locked to its own OS thread, write one map
//	           1000 times each under a mutex (4000 writes from 4 threads).
//	grow       16 goroutines each write their own map once per level of a
//	           2000-deep recursion: 32000 writes, some of them where the
//	           stack has to grow (the map function starts over after
//	           runtime.morestack).
//	race       two goroutines write one map with no lock until the runtime
//	           dies with "fatal error: concurrent map writes".
//	clearrace  one goroutine fills and clears a map while another deletes
//	           from it whenever it looks empty: its deletes run while the
//	           clear holds the write flag (the runtime does not check the
//	           flag of an empty map), until a delete meets a fill and the
//	           runtime dies with "fatal error: concurrent map writes".
//	flagset    writes a map once, then sets its "a write is in progress"
//	           flag by hand (PROBETEST_FLAG="OFFSET MASK", the map header's
//	           byte offset and bit mask) and writes it again: the runtime
//	           dies with "fatal error: concurrent map writes" exactly when
//	           that is the runtime's own flag, and the probe must see it.
//	           With PROBETEST_HOLD, it waits for stdin to close first.
//
// With PROBETEST_HOLD set, a mode that ends waits for stdin to close before
// the program exits (so that a test can read /proc/PID while it lives).
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

//go:noinline
func assign64(m map[int64]int, n int) {
	for i := 0; i < n; i++ {
		m[int64(i)] = i // @assign64
	}
}

//go:noinline
func assignStr(m map[string]int, keys []string) {
	for i, k := range keys {
		m[k] = i // @assignstr
	}
}

//go:noinline
func del64(m map[int64]int, n int) {
	for i := 0; i < n; i++ {
		delete(m, int64(i)) // @delete
	}
}

//go:noinline
func clearStr(m map[string]int) {
	for k := range m { // @clear
		delete(m, k)
	}
}

//go:noinline
func rangeSum(m map[int64]int) int {
	sum := 0
	for _, v := range m { // @range
		sum += v
	}
	return sum
}

// inGoroutine runs f on a fresh goroutine and waits for it, so that every
// kind of operation comes from a goroutine of its own.
func inGoroutine(f func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
	wg.Wait()
}

func counts() {
	keys := make([]string, 500)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	a := make(map[int64]int)
	s := make(map[string]int)
	sum := 0
	inGoroutine(func() { assign64(a, 1000) })
	inGoroutine(func() { assignStr(s, keys) })
	inGoroutine(func() { del64(a, 200) })
	inGoroutine(func() { clearStr(s) })
	inGoroutine(func() {
		for i := 0; i < 3; i++ {
			sum += rangeSum(a)
		}
	})
	fmt.Println(len(a), len(s), sum)
}

const nthreads, perThread = 4, 1000

//go:noinline
func lockedWrites(m map[int]int, mu *sync.Mutex, base int) {
	for i := 0; i < perThread; i++ {
		mu.Lock()
		m[base+i] = i // @threads
		mu.Unlock()
	}
}

func threads() {
	m := make(map[int]int)
	var mu sync.Mutex
	var locked, done sync.WaitGroup
	locked.Add(nthreads)
	done.Add(nthreads)
	for t := 0; t < nthreads; t++ {
		go func(base int) {
			defer done.Done()
			// Held together, the locks put each goroutine on its own thread.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			locked.Done()
			locked.Wait()
			lockedWrites(m, &mu, base)
		}(t * perThread)
	}
	done.Wait()
	fmt.Println(len(m))
}

//go:noinline
func deepWrites(m map[int]int, depth int) {
	if depth == 0 {
		return
	}
	m[depth] = depth // @grow
	deepWrites(m, depth-1)
}

func grow() {
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deepWrites(make(map[int]int), 2000)
		}()
	}
	wg.Wait()
	fmt.Println("grown")
}

//go:noinline
func writer(m map[int]int, base int) {
	for i := 0; ; i++ {
		m[(base+i)&1023] = i // @race
	}
}

func race() {
	m := make(map[int]int)
	go writer(m, 0)
	writer(m, 512)
}

//go:noinline
func fillAndClear(m map[int]int, n int) {
	for {
		for i := 0; i < n; i++ {
			m[i] = i // @racefill
		}
		for k := range m { // @raceclear
			delete(m, k)
		}
	}
}

//go:noinline
func deleteWhenEmpty(m map[int]int) {
	for {
		if len(m) == 0 {
			delete(m, -1) // @racedelete
		}
	}
}

func clearRace() {
	m := make(map[int]int)
	go deleteWhenEmpty(m)
	fillAndClear(m, 1<<16)
}

//go:noinline
func flagSet(hold bool) {
	var off, mask uintptr
	if _, err := fmt.Sscan(os.Getenv("PROBETEST_FLAG"), &off, &mask); err != nil {
		fmt.Fprintln(os.Stderr, "flagset: PROBETEST_FLAG:", err)
		os.Exit(3)
	}
	m := make(map[int]int)
	m[1] = 1 // @flagclear
	if hold {
		// Let the test read /proc/PID before we die.
		io.Copy(io.Discard, os.Stdin)
	}
	// A map value is a pointer to its header (hmap or maps.Map).
	hdr := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	*(*uint8)(unsafe.Add(hdr, off)) |= uint8(mask & -mask)
	m[2] = 2 // @flagset
	fmt.Println("the runtime missed the flag")
}

func main() {
	// Read first: the environment map's writes come before the counted ones.
	hold := os.Getenv("PROBETEST_HOLD") != ""
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "threads":
		threads()
	case "grow":
		grow()
	case "race":
		race()
	case "clearrace":
		clearRace()
	case "flagset":
		flagSet(hold)
	default:
		counts()
	}
	if hold {
		io.Copy(io.Discard, os.Stdin)
	}
}
