// cgocounts: counts with cgo. Built with the external linker, its .text
// starts with C code before the Go code. 4 goroutines, under one mutex,
// each write one map 50,000 times: 200,000 assigns at the marked line.
package main

/*
static int twice(int x) { return 2 * x; }
*/
import "C"

import (
	"fmt"
	"sync"
)

const (
	writers = 4
	perG    = 50000
)

func main() {
	m := make(map[int]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				mu.Lock()
				m[g*perG+i] = i // WRITE
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	fmt.Println(len(m), int(C.twice(C.int(writers))))
}
