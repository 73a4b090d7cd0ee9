// pairmerge writes one map from two goroutines under a mutex. The first
// reaches its write through two callers (two call stacks, one line: two
// sites to the analysis), the second writes at a line of its own, so the
// analysis sees two site pairs that the text report prints alike: it must
// print them as one line.
package main

import (
	"fmt"
	"sync"
)

const rounds = 20000

var mu sync.Mutex

//go:noinline
func put(m map[int]int, k int) {
	mu.Lock()
	m[k] = k // @put
	mu.Unlock()
}

//go:noinline
func viaA(m map[int]int, k int) { put(m, k) }

//go:noinline
func viaB(m map[int]int, k int) { put(m, k) }

func main() {
	m := make(map[int]int)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			if i%2 == 0 {
				viaA(m, i%64)
			} else {
				viaB(m, i%64)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			mu.Lock()
			m[-1-i%64] = i // @other
			mu.Unlock()
		}
	}()
	wg.Wait()
	fmt.Println(len(m))
}
