// fatal_unlock: a fatal error that is not a map's ("sync: unlock of
// unlocked mutex", exit status 2), raised deep in the standard library.
// The crash section still shows the dying goroutine's own stack down to
// the statement that caused it.
package main

import "sync"

//go:noinline
func release(mu *sync.Mutex) {
	mu.Unlock() // @unlock
}

func main() {
	var mu sync.Mutex
	release(&mu) // @call
}
