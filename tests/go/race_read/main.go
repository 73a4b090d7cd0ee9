// race_read: one goroutine reads a map in a loop while another writes it,
// with no lock, until the runtime dies with
// "fatal error: concurrent map read and map write" (exit status 2). Reads
// are not probed: the reading statement is known only from the crashing
// thread's own stack.
package main

import (
	"fmt"
	"os"
	"sync"
)

const maxRounds = 50_000_000

var sink int

//go:noinline
func reader(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		v := m[i&1023] // @read
		sink += v
	}
}

//go:noinline
func writer(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		m[i&1023] = i // @write
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
	go func() { defer done.Done(); reader(m, &start) }()
	go func() { defer done.Done(); writer(m, &start) }()
	start.Done()
	done.Wait()
	fmt.Fprintln(os.Stderr, "race_read: no crash after", maxRounds, "rounds")
	os.Exit(3)
}
