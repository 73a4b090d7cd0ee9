// maploop is a background Go process for `make bench-rss`: it does a little
// map work every 10 ms, forever (writes to one long-lived map from two
// goroutines under a mutex, and a fresh private map per round), so the
// daemon has something to sample without the process costing a CPU.
//
//	maploop    run until killed
package main

import (
	"sync"
	"time"
)

func main() {
	var mu sync.Mutex
	shared := make(map[int]int)
	for g := 0; g < 2; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				own := make(map[int]int, 64)
				for k := 0; k < 64; k++ {
					own[k] = i + k
				}
				mu.Lock()
				shared[(i*2+g)&1023] = len(own)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}(g)
	}
	select {}
}
