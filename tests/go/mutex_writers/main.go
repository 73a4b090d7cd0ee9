// mutex_writers: four goroutines write one map, each write under one
// sync.Mutex: no crash, but the map changes hands between goroutines.
// It prints the map's final size, which is exact: 4 * perWorker keys.
package main

import (
	"fmt"
	"sync"
)

const (
	workers   = 4
	perWorker = 50000
)

type registry struct {
	mu sync.Mutex
	m  map[int]int
}

//go:noinline
func (r *registry) put(k, v int) {
	r.mu.Lock()
	r.m[k] = v // @put
	r.mu.Unlock()
}

//go:noinline
func worker(r *registry, id int, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < perWorker; i++ {
		r.put(id*perWorker+i, i) // @call
	}
}

func main() {
	r := &registry{m: make(map[int]int)}
	var wg sync.WaitGroup
	wg.Add(workers)
	for id := 0; id < workers; id++ {
		go worker(r, id, &wg)
	}
	wg.Wait()
	fmt.Println("entries:", len(r.m))
}
