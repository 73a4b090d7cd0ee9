// race_read: one goroutine reads a map while another writes it, with no
// lock, until the runtime dies with "fatal error: concurrent map read and
// map write" (exit status 2), raised by the reader: reads are not probed,
// so only the freeze sees the writer's side.
package main

import (
	"fmt"
	"os"
	"sync"
)

const maxRounds = 50_000_000

var sink int

//go:noinline
func writer(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		m[i&1023] = i // @write
	}
}

//go:noinline
func reader(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		sink += m[(i*7)&1023] // @read
	}
}

func main() {
	m := make(map[int]int)
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(2)
	go func() { defer done.Done(); writer(m, &start) }()
	go func() { defer done.Done(); reader(m, &start) }()
	start.Done()
	done.Wait()
	fmt.Fprintln(os.Stderr, "race_read: no crash after", maxRounds, "rounds")
	os.Exit(3)
}
