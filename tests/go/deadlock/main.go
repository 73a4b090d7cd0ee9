// deadlock: every goroutine blocks, so the runtime dies with
// "fatal error: all goroutines are asleep - deadlock!" (exit 2): a fatal
// error that is not a map error, for the crash guard's --freeze modes.
package main

import "sync"

//go:noinline
func wait(mu *sync.Mutex) {
	mu.Lock() // @block
}

func main() {
	var mu sync.Mutex
	mu.Lock()
	wait(&mu)
}
