// private_maps: each of four goroutines fills a map of its own; nothing is
// shared, so there is nothing to report. The maps stay reachable until the
// end, so no map's address is reused by another's.
package main

import (
	"fmt"
	"sync"
)

const (
	workers   = 4
	perWorker = 5000
)

var keep [workers]map[int]int

//go:noinline
func fill(id int, wg *sync.WaitGroup) {
	defer wg.Done()
	m := make(map[int]int)
	for i := 0; i < perWorker; i++ {
		m[i] = i * id // @fill
	}
	keep[id] = m
}

func main() {
	var wg sync.WaitGroup
	wg.Add(workers)
	for id := 0; id < workers; id++ {
		go fill(id, &wg)
	}
	wg.Wait()
	total := 0
	for _, m := range keep {
		total += len(m)
	}
	fmt.Println("entries:", total)
}
