// race_range: one goroutine ranges over a map while another writes it,
// with no lock, until the runtime dies with
// "fatal error: concurrent map iteration and map write" (exit status 2).
package main

import (
	"fmt"
	"os"
	"sync"
)

const maxRounds = 5_000_000

var sink int

//go:noinline
func writer(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds*64; i++ {
		m[i&63] = i // @write
	}
}

//go:noinline
func ranger(m map[int]int, start *sync.WaitGroup) {
	start.Wait()
	for i := 0; i < maxRounds; i++ {
		for k, v := range m { // @range
			sink += k + v
		}
	}
}

func main() {
	m := make(map[int]int)
	for i := 0; i < 64; i++ {
		m[i] = i
	}
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(2)
	go func() { defer done.Done(); writer(m, &start) }()
	go func() { defer done.Done(); ranger(m, &start) }()
	start.Done()
	done.Wait()
	fmt.Fprintln(os.Stderr, "race_range: no crash after", maxRounds, "rounds")
	os.Exit(3)
}
