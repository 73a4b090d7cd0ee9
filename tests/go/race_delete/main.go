// race_delete: one goroutine deletes from a map while another writes it,
// with no lock, until the runtime dies with
// "fatal error: concurrent map writes" (exit status 2).
package main

import (
	"fmt"
	"os"
	"sync"
)

const maxRounds = 50_000_000

//go:noinline
func writer(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		m[i&1023] = i // @write
	}
}

//go:noinline
func deleter(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		delete(m, i&1023) // @delete
	}
}

func main() {
	m := make(map[int]int)
	for i := 0; i < 1024; i++ {
		m[i] = i
	}
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(2)
	go func() { defer done.Done(); writer(m, &start) }()
	go func() { defer done.Done(); deleter(m, &start) }()
	start.Done()
	done.Wait()
	fmt.Fprintln(os.Stderr, "race_delete: no crash after", maxRounds, "rounds")
	os.Exit(3)
}
