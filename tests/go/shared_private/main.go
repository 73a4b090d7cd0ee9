// shared_private: one map shared by three goroutines under a mutex, written
// a few hundred times a second, beside a goroutine that hammers maps of its
// own (a new one every thousand writes). Like a server with one session
// table and many per-request maps. Prints "ready"; runs until killed.
package main

import (
	"fmt"
	"sync"
	"time"
)

type registry struct {
	mu sync.Mutex
	m  map[int]int
}

//go:noinline
func (r *registry) put(k, v int) {
	r.mu.Lock()
	r.m[k] = v // @shared
	r.mu.Unlock()
}

//go:noinline
func private(n int) int {
	m := make(map[int]int)
	for i := 0; i < n; i++ {
		m[i&63] = i // @private
	}
	return len(m)
}

func main() {
	r := &registry{m: make(map[int]int)}
	for id := 0; id < 3; id++ {
		go func(id int) {
			for i := 0; ; i++ {
				r.put(id*1000+i%100, i)
				time.Sleep(10 * time.Millisecond)
			}
		}(id)
	}
	go func() {
		for {
			private(1000)
		}
	}()
	fmt.Println("ready")
	select {}
}
