// hostile: names that carry terminal escapes once patched. test_safety.py
// replaces the markers in the function evilFnZQZQZ, the file
// evilfileXQXQX.go and the key type evilTyYQYQY with ESC[2J and a newline
// (same length) in the built binary, then traces it. Goroutines write one
// map with no lock until the runtime notices, so the crash section shows
// the names too.
package main

import "runtime"

func main() {
	runtime.GOMAXPROCS(runtime.NumCPU() + 2)
	m := make(map[evilTyYQYQY]int)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				evilFnZQZQZ(m, i*8+g)
			}
		}(g)
	}
	select {}
}
