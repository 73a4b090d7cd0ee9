// scenrate: goroutines write their own maps as fast as they can for a
// while, then print exactly how many writes they made in total, so a test
// can check that events + lost accounts for every one of them.
package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Kept here so each map lives on the heap: a map that does not escape
// sits on its goroutine's stack and moves when the stack grows.
var maps []map[uint64]uint64

func writer(m map[uint64]uint64, stop *int32, total *int64, wg *sync.WaitGroup) {
	defer wg.Done()
	var n int64
	for atomic.LoadInt32(stop) == 0 {
		for j := 0; j < 256; j++ {
			m[uint64(n)&1023] = uint64(n) // WRITE
			n++
		}
	}
	atomic.AddInt64(total, n)
}

func main() {
	goroutines := flag.Int("g", 4, "writer goroutines")
	dur := flag.Duration("d", time.Second, "how long to write")
	flag.Parse()

	var stop int32
	var total int64
	var wg sync.WaitGroup
	for i := 0; i < *goroutines; i++ {
		maps = append(maps, make(map[uint64]uint64))
	}
	for i := 0; i < *goroutines; i++ {
		wg.Add(1)
		go writer(maps[i], &stop, &total, &wg)
	}
	time.Sleep(*dur)
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	fmt.Printf("writes %d\n", total)
}
